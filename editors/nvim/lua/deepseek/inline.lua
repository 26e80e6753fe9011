-- One interface over the two ghost-text implementations: Neovim's own
-- `vim.lsp.inline_completion` (0.12+) and ours (`deepseek.ghost`, for 0.11), plus the keymaps.
local api = vim.api
local config = require('deepseek.config')
local ghost = require('deepseek.ghost')

local M = {}

local function native()
  return config.use_native()
end

--- Whether Neovim's own inline completion draws text now. After a suggestion is typed through
--- to its end, Neovim keeps its item and an extmark with nothing in it: that is no suggestion
--- (and accepting it would insert the whole item again).
---@return boolean
local function native_shown()
  local ns = api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  if not ns then
    return false
  end
  for _, mark in ipairs(api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
    local details = mark[4]
    for _, chunk in ipairs(details.virt_text or {}) do
      if chunk[1] ~= '' then
        return true
      end
    end
    if details.virt_lines and #details.virt_lines > 0 then
      return true
    end
  end
  return false
end

--- Is a suggestion shown in the current buffer?
---@return boolean
function M.visible()
  if native() then
    return native_shown()
  end
  return ghost.visible()
end

--- The part of a native item from the cursor on, and how many bytes right of the cursor it
--- replaces. What was typed since the item's range start is skipped (on the cursor's line even
--- when it differs from the item, as Neovim skips it when drawing).
---@param item vim.lsp.inline_completion.Item
---@return string rest, integer overwrite
local function native_rest(item)
  local text = item.insert_text
  if type(text) ~= 'string' then
    text = text.value -- a snippet: inserted as its plain text (the server sends none)
  end
  local row, col = unpack(api.nvim_win_get_cursor(0))
  row = row - 1
  local range = item.range
  if not range then
    return text, 0
  end
  local start = range.start
  if start.row > row or (start.row == row and start.col > col) then
    return text, 0
  end
  -- The range is where the item was asked for; the tail it replaces (e.g. an auto-closed
  -- bracket) has moved along with what was typed since, and is right of the cursor.
  local overwrite = 0
  if range.end_.row == start.row then
    overwrite = math.max(0, range.end_.col - start.col)
  end
  local typed = table.concat(api.nvim_buf_get_text(0, start.row, start.col, row, col, {}), '\n')
  if vim.startswith(text, typed) then
    return text:sub(#typed + 1), overwrite
  end
  if start.row == row then
    return text:sub(col - start.col + 1), overwrite
  end
  return '', 0
end

--- Insert a native item, or part of it (`kind`), at the cursor. Neovim's own accept replaces
--- the item's range as it was when the item arrived, which inserts what was typed since a
--- second time; this inserts only the rest.
---@param item vim.lsp.inline_completion.Item
---@param kind 'all'|'line'|'word'
local function accept_native(item, kind)
  local rest, overwrite = native_rest(item)
  if rest == '' then
    return
  end
  local piece = rest
  if kind == 'line' then
    piece = rest:match('^[^\n]+') or rest:match('^\n[^\n]*') or rest
  elseif kind == 'word' then
    piece = rest:match('^\n[ \t]*')
      or rest:match('^[ \t]*[%w_]+')
      or rest:match('^[ \t]*[^%w_%s]+')
      or rest
  end
  local row, col = unpack(api.nvim_win_get_cursor(0))
  row = row - 1
  local ecol = col
  if piece == rest and overwrite > 0 then
    local line = api.nvim_buf_get_lines(0, row, row + 1, false)[1] or ''
    ecol = math.min(#line, col + overwrite)
  end
  local lines = vim.split(piece, '\n', { plain = true })
  api.nvim_buf_set_text(0, row, col, row, ecol, lines)
  api.nvim_win_set_cursor(0, { row + #lines, (#lines == 1 and col or 0) + #lines[#lines] })
  if piece == rest and item.command then
    local client = vim.lsp.get_client_by_id(item.client_id)
    if client then
      client:exec_cmd(item.command, { bufnr = api.nvim_get_current_buf() })
    end
  end
end

--- Accept the shown suggestion (all of it, its first line, or its next word).
---@param kind? 'all'|'line'|'word'
---@return boolean accepted
function M.accept(kind)
  kind = kind or 'all'
  if native() then
    if not native_shown() then
      return false
    end
    return vim.lsp.inline_completion.get({
      on_accept = function(item)
        accept_native(item, kind)
      end,
    })
  end
  return ghost.accept(kind)
end

--- Neovim's inline completion state for a buffer (an internal of `vim.lsp.inline_completion`:
--- it has no public way to ask with triggerKind Invoked or to be given items), or nil.
---@param bufnr integer
---@return table?
local function native_completor(bufnr)
  local ok, capability = pcall(require, 'vim.lsp._capability')
  local all = ok and type(capability) == 'table' and capability.all or nil
  local completor = all and all.inline_completion and all.inline_completion.active
    and all.inline_completion.active[bufnr]
  if type(completor) == 'table' and type(completor.client_state) == 'table'
    and type(completor.select) == 'function'
  then
    return completor
  end
  return nil
end

-- Where the native items of a buffer answer an explicit request: { tick, row, col }.
---@type table<integer, integer[]>
local native_invoked = {}

--- Native next/previous: the first press asks the server with triggerKind Invoked (up to
--- three suggestions) and gives the answer to Neovim's inline completion, which draws it with
--- its " (i/N)" count; later presses at the same place cycle with its `select()`.
---@param delta integer
local function native_next(delta)
  local bufnr = api.nvim_get_current_buf()
  local row, col = unpack(api.nvim_win_get_cursor(0))
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local here = native_invoked[bufnr]
  local completor = native_completor(bufnr)
  local client = require('deepseek.lsp').get_client(bufnr)
  if (here and here[1] == tick and here[2] == row and here[3] == col) or not (completor and client) then
    vim.lsp.inline_completion.select({ count = delta })
    return
  end
  local current = completor.current
  local shown = current and native_shown() and native_rest(current) or nil
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  ---@diagnostic disable-next-line: inject-field
  params.context = { triggerKind = 1 } -- Invoked
  client:request('textDocument/inlineCompletion', params, function(err, result)
    if err or not result or not api.nvim_buf_is_valid(bufnr)
      or api.nvim_get_current_buf() ~= bufnr
      or api.nvim_buf_get_changedtick(bufnr) ~= tick
      or not vim.deep_equal(api.nvim_win_get_cursor(0), { row, col })
      or not api.nvim_get_mode().mode:match('^i')
    then
      return
    end
    local items = result.items or result
    if #items == 0 then
      return
    end
    local index = 1
    for i, item in ipairs(items) do
      local text = type(item.insertText) == 'table' and item.insertText.value or item.insertText
      if text == shown then
        index = (i - 1 + delta) % #items + 1
        break
      end
    end
    -- Only our items: another server's would shift the indices.
    for id in pairs(completor.client_state) do
      completor.client_state[id].items = id == client.id and items or nil
    end
    completor.client_state[client.id] = completor.client_state[client.id] or {}
    completor.client_state[client.id].items = items
    native_invoked[bufnr] = { tick, row, col }
    completor:select(index, #items > 1)
  end, bufnr)
end

--- Show the next (`delta` 1) or previous (-1) suggestion; see `native_next` and `ghost.next`.
---@param delta integer
function M.next(delta)
  if native() then
    native_next(delta)
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
