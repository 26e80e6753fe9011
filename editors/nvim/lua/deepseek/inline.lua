-- One interface over the two ghost-text implementations: Neovim's own
-- `vim.lsp.inline_completion` (0.12+) and ours (`deepseek.ghost`, for 0.11), plus the keymaps.
local api = vim.api
local config = require('deepseek.config')
local ghost = require('deepseek.ghost')

local M = {}

local function native()
  return config.use_native()
end

--- Is a suggestion shown in the current buffer?
---@return boolean
function M.visible()
  if native() then
    local ns = api.nvim_get_namespaces()['nvim.lsp.inline_completion']
    return ns ~= nil and #api.nvim_buf_get_extmarks(0, ns, 0, -1, { limit = 1 }) > 0
  end
  return ghost.visible()
end

--- Insert part of a native item: the part of its text from the cursor on, cut by `kind`.
---@param item vim.lsp.inline_completion.Item
---@param kind 'line'|'word'
local function accept_native_part(item, kind)
  local text = item.insert_text
  if type(text) ~= 'string' then
    text = text.value
  end
  local row, col = unpack(api.nvim_win_get_cursor(0))
  row = row - 1
  if item.range then
    -- The item replaces its range; what is left of the cursor in it is already typed.
    local start = item.range.start
    if start.row == row and start.col <= col then
      local present = api.nvim_buf_get_text(0, row, start.col, row, col, {})[1]
      if vim.startswith(text, present) then
        text = text:sub(#present + 1)
      end
    end
  end
  local piece
  if kind == 'line' then
    piece = text:match('^[^\n]+') or text:match('^\n[^\n]*') or text
  else
    piece = text:match('^\n[ \t]*')
      or text:match('^[ \t]*[%w_]+')
      or text:match('^[ \t]*[^%w_%s]+')
      or text
  end
  local lines = vim.split(piece, '\n', { plain = true })
  api.nvim_buf_set_text(0, row, col, row, col, lines)
  api.nvim_win_set_cursor(0, { row + #lines, (#lines == 1 and col or 0) + #lines[#lines] })
end

--- Accept the shown suggestion (all of it, its first line, or its next word).
---@param kind? 'all'|'line'|'word'
---@return boolean accepted
function M.accept(kind)
  kind = kind or 'all'
  if native() then
    if kind == 'all' then
      return vim.lsp.inline_completion.get()
    end
    return vim.lsp.inline_completion.get({
      on_accept = function(item)
        accept_native_part(item, kind)
      end,
    })
  end
  return ghost.accept(kind)
end

---@param delta integer
function M.next(delta)
  if native() then
    vim.lsp.inline_completion.select({ count = delta })
  else
    ghost.next(delta)
  end
end

---@return boolean dismissed
function M.dismiss()
  if native() then
    local shown = M.visible()
    -- The native module has no public "hide": turning it off and on for the buffer clears the
    -- shown item and keeps completion on for the next change.
    local bufnr = api.nvim_get_current_buf()
    vim.lsp.inline_completion.enable(false, { bufnr = bufnr })
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
    return shown
  end
  return ghost.dismiss()
end

--- Start ghost text in a buffer the deepseek client just attached to.
---@param bufnr integer
function M.attach(bufnr)
  if not config.get().ghost_text.enabled then
    return
  end
  if native() then
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  else
    ghost.attach(bufnr)
  end
end

---@param bufnr integer
function M.detach(bufnr)
  if native() then
    if api.nvim_buf_is_valid(bufnr) then
      vim.lsp.inline_completion.enable(false, { bufnr = bufnr })
    end
  else
    ghost.detach(bufnr)
  end
end

--- Clear what is shown everywhere (e.g. after completions were turned off).
function M.clear_all()
  for _, bufnr in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(bufnr) then
      if native() then
        local ns = api.nvim_get_namespaces()['nvim.lsp.inline_completion']
        if ns then
          api.nvim_buf_clear_namespace(bufnr, ns, 0, -1)
        end
      else
        ghost.clear(bufnr)
      end
    end
  end
end

-- Mappings the keymaps displaced (Neovim's own <Tab> snippet jump, a completion plugin's),
-- used when no suggestion is shown.
---@type table<string, table>
local previous = {}

--- Run a displaced mapping that is a non-expr Lua callback (called through <Cmd>).
---@param lhs string
function M._run_previous(lhs)
  local prev = previous[lhs]
  if prev and prev.callback then
    prev.callback()
  end
end

--- The keys for `lhs` when there is no suggestion: what the displaced mapping would do, or the
--- key itself.
---@param lhs string
---@return string
local function fallback(lhs)
  local prev = previous[lhs]
  if not prev then
    return lhs
  end
  if prev.callback then
    if prev.expr == 1 then
      return prev.callback() or ''
    end
    return ('<Cmd>lua require("deepseek.inline")._run_previous(%q)<CR>'):format(lhs)
  end
  if prev.expr == 1 then
    return api.nvim_eval(prev.rhs)
  end
  return prev.rhs or lhs
end

-- Each keymap runs its action through <Cmd> (buffer changes are not allowed inside an <expr>
-- mapping) and falls back to the key's previous meaning when no suggestion is shown.
local actions = {
  accept = { 'all', 'Accept the DeepSeek suggestion' },
  accept_line = { 'line', 'Accept a line of the DeepSeek suggestion' },
  accept_word = { 'word', 'Accept a word of the DeepSeek suggestion' },
  next = { 1, 'Next DeepSeek suggestion' },
  prev = { -1, 'Previous DeepSeek suggestion' },
  dismiss = { nil, 'Dismiss the DeepSeek suggestion' },
}

function M.set_keymaps()
  local keymaps = config.get().keymaps
  if not keymaps then
    return
  end
  for name, spec in pairs(actions) do
    local lhs = keymaps[name]
    if lhs then
      local arg, desc = spec[1], spec[2]
      local call
      if name == 'next' or name == 'prev' then
        call = ('<Cmd>lua require("deepseek.inline").next(%d)<CR>'):format(arg)
      elseif name == 'dismiss' then
        call = '<Cmd>lua require("deepseek.inline").dismiss()<CR>'
      else
        call = ('<Cmd>lua require("deepseek.inline").accept(%q)<CR>'):format(arg)
      end
      local prev = vim.fn.maparg(lhs, 'i', false, true)
      if next(prev) and prev.buffer == 0 and not (prev.desc or ''):find('DeepSeek', 1, true) then
        previous[lhs] = prev
      end
      vim.keymap.set('i', lhs, function()
        -- next/prev also ask for a suggestion when none is shown.
        if M.visible() or name == 'next' or name == 'prev' then
          return call
        end
        return fallback(lhs)
      end, { expr = true, silent = true, desc = desc })
    end
  end
end

return M
