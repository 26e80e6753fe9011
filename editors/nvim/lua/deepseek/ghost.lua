-- Ghost text for Neovim versions without `vim.lsp.inline_completion` (0.11): ask the server for
-- `textDocument/inlineCompletion` while the user types and draw the answer as virtual text
-- (inline for the first line, virtual lines below for the rest).
--
-- A suggestion is kept as "text to insert at the point where it was asked for". Whatever the user
-- types after that point is compared with the start of that text: while it matches, the shown
-- remainder shrinks and no new request is made (the server would answer the same).
--
-- Alternatives: the next/previous keys ask with triggerKind Invoked, for which the server
-- answers with up to three distinct suggestions, and cycle through them with a "(i/N)" count.
-- Typing keeps the alternative shown as long as it matches; alternatives that no longer match
-- what was typed drop out of the cycle.
local api = vim.api
local config = require('deepseek.config')
local dlsp = require('deepseek.lsp')

local M = {}

M.ns = api.nvim_create_namespace('deepseek.ghost')
local augroup = api.nvim_create_augroup('deepseek.ghost', { clear = true })

local METHOD = 'textDocument/inlineCompletion'
local TRIGGER_INVOKED, TRIGGER_AUTOMATIC = 1, 2

---@class deepseek.ghost.Item
---@field text string        text to insert at the anchor
---@field overwrite string   text right of the anchor that the suggestion replaces
---@field command lsp.Command?

---@class deepseek.ghost.State
---@field timer uv.uv_timer_t?
---@field client_id integer?
---@field request_id integer?
---@field anchor [integer, integer]?   0-based row, byte column where the suggestion starts
---@field items deepseek.ghost.Item[]?
---@field index integer?               the item shown (an index into `items`)
---@field live integer[]?              indices of the items that still match what was typed
---@field invoked boolean?             the items answer an explicit request: all alternatives
---@field rest string?                 the part not typed yet (what is shown)

---@type table<integer, deepseek.ghost.State>
local states = {}

---@param bufnr integer
---@return deepseek.ghost.State
local function state_of(bufnr)
  local s = states[bufnr]
  if not s then
    s = {}
    states[bufnr] = s
  end
  return s
end

local function cursor()
  local pos = api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

---@param bufnr integer
local function hide(bufnr)
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
end

---@param s deepseek.ghost.State
local function cancel_request(s)
  if s.request_id and s.client_id then
    local client = vim.lsp.get_client_by_id(s.client_id)
    if client then
      client:cancel_request(s.request_id)
    end
  end
  s.request_id = nil
end

---@param s deepseek.ghost.State
local function stop_timer(s)
  if s.timer then
    s.timer:stop()
  end
end

--- Forget the suggestion of a buffer (and stop asking for one).
---@param bufnr integer?
function M.clear(bufnr)
  bufnr = bufnr or api.nvim_get_current_buf()
  local s = states[bufnr]
  if s then
    stop_timer(s)
    cancel_request(s)
    s.items, s.index, s.live, s.anchor, s.rest, s.invoked = nil, nil, nil, nil, nil, nil
  end
  hide(bufnr)
end

---@param bufnr integer?
---@return boolean
function M.visible(bufnr)
  local s = states[bufnr or api.nvim_get_current_buf()]
  return s ~= nil and s.rest ~= nil and s.rest ~= ''
end

--- Tabs in virtual text would be drawn as one cell: expand them like the buffer does.
---@param text string
---@param bufnr integer
local function expand_tabs(text, bufnr)
  if not text:find('\t', 1, true) then
    return text
  end
  return (text:gsub('\t', string.rep(' ', vim.bo[bufnr].tabstop)))
end

--- Where `index` is in `list` (1 when it is not there).
---@param list integer[]
---@param index integer
---@return integer
local function position(list, index)
  for i, value in ipairs(list) do
    if value == index then
      return i
    end
  end
  return 1
end

---@param bufnr integer
local function render(bufnr)
  hide(bufnr)
  local s = states[bufnr]
  if not (s and s.rest and s.rest ~= '') or api.nvim_get_current_buf() ~= bufnr then
    return
  end
  local hl = config.get().ghost_text.hl_group
  local item = s.items[s.index]
  local lines = vim.split(s.rest, '\n', { plain = true })
  local row, col = cursor()
  local first = lines[1]
  -- A suggestion that ends with the closing characters already right of the cursor replaces
  -- them on accept; do not draw them twice.
  if #lines == 1 and item.overwrite ~= '' and vim.endswith(first, item.overwrite) then
    local after = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1]:sub(col + 1)
    if vim.startswith(after, item.overwrite) then
      first = first:sub(1, #first - #item.overwrite)
    end
  end
  local mark = { hl_mode = 'combine', priority = 200 }
  if first ~= '' then
    mark.virt_text = { { expand_tabs(first, bufnr), hl } }
    mark.virt_text_pos = 'inline'
  end
  if #lines > 1 then
    mark.virt_lines = {}
    for i = 2, #lines do
      table.insert(mark.virt_lines, { { expand_tabs(lines[i], bufnr), hl } })
    end
  end
  -- With alternatives, which one this is, after its last line: " (2/3)".
  local live = s.live or {}
  if #live > 1 then
    local count = (' (%d/%d)'):format(position(live, s.index), #live)
    local hint = { count, config.get().ghost_text.count_hl_group }
    if mark.virt_lines then
      table.insert(mark.virt_lines[#mark.virt_lines], hint)
    else
      -- After the text, not inline: it must not push the rest of the line along.
      mark.virt_text = mark.virt_text or {}
      table.insert(mark.virt_text, hint)
      mark.virt_text_pos = 'inline'
    end
  end
  api.nvim_buf_set_extmark(bufnr, M.ns, row, col, mark)
end

--- Check the shown suggestion against what was typed since it was asked for. The alternative
--- shown stays as long as it matches; otherwise the first one that still does is shown.
---@param bufnr integer
---@return boolean still_valid
local function sync(bufnr)
  local s = states[bufnr]
  if not (s and s.items and s.anchor) then
    return false
  end
  local arow, acol = s.anchor[1], s.anchor[2]
  local row, col = cursor()
  if row < arow or (row == arow and col < acol) or row >= api.nvim_buf_line_count(bufnr) then
    return false
  end
  local ok, typed = pcall(api.nvim_buf_get_text, bufnr, arow, acol, row, col, {})
  if not ok then
    return false
  end
  local typed_text = table.concat(typed, '\n')
  local live = {}
  for i, item in ipairs(s.items) do
    -- Typed to the end of an item leaves nothing of it to suggest.
    if #item.text > #typed_text and item.text:sub(1, #typed_text) == typed_text then
      table.insert(live, i)
    end
  end
  if #live == 0 then
    return false
  end
  if not vim.list_contains(live, s.index) then
    s.index = live[1]
  end
  s.live = live
  s.rest = s.items[s.index].text:sub(#typed_text + 1)
  render(bufnr)
  return true
end

--- Turn a server item into "insert this at the cursor", or nil when it cannot be expressed so.
---@param bufnr integer
---@param client vim.lsp.Client
---@param raw lsp.InlineCompletionItem
---@param row integer
---@param col integer
---@return deepseek.ghost.Item?
local function normalize(bufnr, client, raw, row, col)
  local text = raw.insertText
  if type(text) == 'table' then
    text = text.value -- a snippet: shown and inserted as its plain text
  end
  if type(text) ~= 'string' or text == '' then
    return nil
  end
  local overwrite = ''
  local range = raw.range
  if range then
    local enc = client.offset_encoding
    local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
    local function byte_col(pos)
      return vim.str_byteindex(line, enc, pos.character, false)
    end
    if range.start.line ~= row or range['end'].line ~= row then
      return nil -- edits elsewhere than the cursor line are not ghost text
    end
    local scol, ecol = byte_col(range.start), byte_col(range['end'])
    if scol > col or ecol < col then
      return nil
    end
    -- The range may start before the cursor and repeat what is already typed.
    local present = line:sub(scol + 1, col)
    if not vim.startswith(text, present) then
      return nil
    end
    text = text:sub(#present + 1)
    overwrite = line:sub(col + 1, ecol)
  end
  if text == '' then
    return nil
  end
  return { text = text, overwrite = overwrite, command = raw.command }
end

---@param bufnr integer
---@param trigger integer
---@param pick? fun(items: deepseek.ghost.Item[]): integer  which item to show (default: the first)
local function request(bufnr, trigger, pick)
  if api.nvim_get_current_buf() ~= bufnr or not api.nvim_get_mode().mode:match('^i') then
    return
  end
  local client = dlsp.get_client(bufnr)
  if not (client and client:supports_method(METHOD, bufnr)) then
    return
  end
  local s = state_of(bufnr)
  cancel_request(s)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  ---@diagnostic disable-next-line: inject-field
  params.context = { triggerKind = trigger }
  local row, col = cursor()
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local ok, id
  ok, id = client:request(METHOD, params, function(err, result)
    if s.request_id ~= id then
      return -- superseded
    end
    s.request_id = nil
    if err or not result then
      return
    end
    -- Only an answer for exactly the state it was asked for can be drawn.
    local crow, ccol = cursor()
    if
      api.nvim_get_current_buf() ~= bufnr
      or api.nvim_buf_get_changedtick(bufnr) ~= tick
      or crow ~= row
      or ccol ~= col
      or not api.nvim_get_mode().mode:match('^i')
    then
      return
    end
    local items = {}
    for _, raw in ipairs(result.items or result) do
      local item = normalize(bufnr, client, raw, row, col)
      if item then
        table.insert(items, item)
      end
    end
    if #items == 0 then
      M.clear(bufnr)
      return
    end
    s.items, s.anchor, s.invoked = items, { row, col }, trigger == TRIGGER_INVOKED
    s.index = pick and pick(items) or 1
    sync(bufnr)
  end, bufnr)
  if ok then
    s.client_id, s.request_id = client.id, id
  end
end

--- Ask again after the user paused for `debounce_ms`.
---@param bufnr integer
local function schedule_request(bufnr)
  local s = state_of(bufnr)
  s.timer = s.timer or vim.uv.new_timer()
  s.timer:stop()
  s.timer:start(
    config.get().ghost_text.debounce_ms,
    0,
    vim.schedule_wrap(function()
      request(bufnr, TRIGGER_AUTOMATIC)
    end)
  )
end

--- Called on every insert-mode change or cursor move.
---@param bufnr integer
local function on_change(bufnr)
  if sync(bufnr) then
    return -- typing through the suggestion: keep it, no request
  end
  local s = state_of(bufnr)
  s.items, s.index, s.live, s.anchor, s.rest, s.invoked = nil, nil, nil, nil, nil, nil
  hide(bufnr)
  schedule_request(bufnr)
end

--- Insert `text` at the cursor, replacing `overwrite` when it is right of the cursor.
---@param bufnr integer
---@param text string
---@param overwrite string
local function insert_at_cursor(bufnr, text, overwrite)
  local row, col = cursor()
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1]
  local ecol = col
  if overwrite ~= '' and line:sub(col + 1, col + #overwrite) == overwrite then
    ecol = col + #overwrite
  end
  local lines = vim.split(text, '\n', { plain = true })
  api.nvim_buf_set_text(bufnr, row, col, row, ecol, lines)
  local last_row = row + #lines - 1
  local last_col = (#lines == 1 and col or 0) + #lines[#lines]
  api.nvim_win_set_cursor(0, { last_row + 1, last_col })
end

--- The next piece of `rest` for a partial accept.
---@param rest string
---@param kind 'word'|'line'
---@return string
local function next_piece(rest, kind)
  if kind == 'line' then
    local first = rest:match('^[^\n]*')
    if first ~= '' then
      return first
    end
    return rest:match('^\n[^\n]*')
  end
  return rest:match('^\n[ \t]*')
    or rest:match('^[ \t]*[%w_]+')
    or rest:match('^[ \t]*[^%w_%s]+')
    or rest:match('^%s+')
    or rest
end

--- Accept the suggestion: all of it, its current line, or its next word.
---@param kind? 'all'|'line'|'word'
---@return boolean accepted
function M.accept(kind)
  local bufnr = api.nvim_get_current_buf()
  if not (sync(bufnr) and M.visible(bufnr)) then
    return false
  end
  local s = states[bufnr]
  local item = s.items[s.index]
  local piece = kind and kind ~= 'all' and next_piece(s.rest, kind) or s.rest
  if piece == s.rest then
    M.clear(bufnr)
    insert_at_cursor(bufnr, piece, item.overwrite)
    if item.command then
      local client = vim.lsp.get_client_by_id(s.client_id)
      if client then
        client:exec_cmd(item.command, { bufnr = bufnr })
      end
    end
  else
    -- The inserted piece matches the suggestion, so the change handler keeps the rest shown.
    insert_at_cursor(bufnr, piece, '')
    sync(bufnr)
  end
  return true
end

--- Show another of the server's suggestions. The first press asks the server explicitly
--- (triggerKind Invoked: up to three distinct suggestions) and moves from the one shown; later
--- presses cycle through what it answered. With nothing shown, it shows the first.
---@param delta integer
function M.next(delta)
  local bufnr = api.nvim_get_current_buf()
  local s = state_of(bufnr)
  local shown = sync(bufnr) and s.rest or nil
  if shown and s.invoked then
    local live = s.live
    s.index = live[(position(live, s.index) - 1 + delta) % #live + 1]
    sync(bufnr)
    return
  end
  stop_timer(s) -- an automatic request about to start would replace the answer
  request(bufnr, TRIGGER_INVOKED, function(items)
    for i, item in ipairs(items) do
      if item.text == shown then
        return (i - 1 + delta) % #items + 1
      end
    end
    return 1
  end)
end

--- Hide the suggestion until the next change.
---@return boolean dismissed
function M.dismiss()
  local bufnr = api.nvim_get_current_buf()
  local shown = M.visible(bufnr)
  M.clear(bufnr)
  return shown
end

--- Ask now (no debounce), e.g. from a keymap.
function M.trigger()
  request(api.nvim_get_current_buf(), TRIGGER_INVOKED)
end

--- Draw ghost text in `bufnr` while the deepseek client is attached to it.
---@param bufnr integer
function M.attach(bufnr)
  if vim.b[bufnr].deepseek_ghost_attached then
    return
  end
  vim.b[bufnr].deepseek_ghost_attached = true
  api.nvim_create_autocmd({ 'InsertEnter', 'TextChangedI', 'TextChangedP', 'CursorMovedI' }, {
    group = augroup,
    buffer = bufnr,
    callback = function(args)
      on_change(args.buf)
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = augroup,
    buffer = bufnr,
    callback = function(args)
      M.clear(args.buf)
    end,
  })
  api.nvim_create_autocmd('BufWipeout', {
    group = augroup,
    buffer = bufnr,
    callback = function(args)
      M.detach(args.buf)
    end,
  })
end

---@param bufnr integer
function M.detach(bufnr)
  M.clear(bufnr)
  local s = states[bufnr]
  if s and s.timer then
    s.timer:close()
  end
  states[bufnr] = nil
  if api.nvim_buf_is_valid(bufnr) then
    vim.b[bufnr].deepseek_ghost_attached = nil
    api.nvim_clear_autocmds({ group = augroup, buffer = bufnr })
  end
end

return M
