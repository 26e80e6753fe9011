-- The answer window: one markdown scratch buffer holding the conversation, shown in a split or a
-- float, into which answers stream while the server works.
local api = vim.api
local config = require('deepseek.config')

local M = {}

local BUFNAME = 'deepseek://answer'

---@type integer?
local bufnr

---@return integer
function M.buffer()
  if bufnr and api.nvim_buf_is_valid(bufnr) then
    return bufnr
  end
  bufnr = api.nvim_create_buf(false, true)
  api.nvim_buf_set_name(bufnr, BUFNAME)
  vim.bo[bufnr].filetype = 'markdown'
  vim.bo[bufnr].bufhidden = 'hide'
  vim.bo[bufnr].modifiable = false
  vim.keymap.set('n', 'q', '<Cmd>close<CR>', { buffer = bufnr, desc = 'Close the DeepSeek answer' })
  return bufnr
end

--- The answer buffer if it exists (for tests and statuslines).
---@return integer?
function M.answer_bufnr()
  return bufnr and api.nvim_buf_is_valid(bufnr) and bufnr or nil
end

--- When the cursor is in the answer window, go back to the previous window.
function M.leave_answer_window()
  if bufnr and api.nvim_get_current_buf() == bufnr then
    vim.cmd.wincmd('p')
  end
end

---@param buf integer
---@return integer? win
local function window_of(buf)
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == buf then
      return win
    end
  end
end

--- Show the answer buffer (without taking the cursor away from the code, except for a float,
--- which has to be focused to be closed with `q`).
---@return integer win
function M.open()
  local buf = M.buffer()
  local win = window_of(buf)
  if win then
    return win
  end
  local opts = config.get().answer
  if opts.layout == 'float' then
    local width = math.floor(vim.o.columns * math.max(opts.width, 0.5))
    local height = math.floor(vim.o.lines * math.max(opts.height, 0.5))
    win = api.nvim_open_win(buf, true, {
      relative = 'editor',
      width = width,
      height = height,
      row = math.floor((vim.o.lines - height) / 2),
      col = math.floor((vim.o.columns - width) / 2),
      border = 'rounded',
      title = ' DeepSeek ',
      title_pos = 'center',
    })
  else
    local vertical = opts.layout ~= 'split'
    local size = vertical and math.floor(vim.o.columns * opts.width)
      or math.floor(vim.o.lines * opts.height)
    win = api.nvim_open_win(buf, false, {
      split = vertical and 'right' or 'below',
      win = -1,
      width = vertical and size or nil,
      height = (not vertical) and size or nil,
    })
  end
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  vim.wo[win].conceallevel = 2
  vim.wo[win].number = false
  vim.wo[win].relativenumber = false
  return win
end

---@param buf integer
---@param start integer
---@param stop integer
---@param lines string[]
local function set_lines(buf, start, stop, lines)
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, start, stop, false, lines)
  vim.bo[buf].modifiable = false
end

local function follow(buf)
  local win = window_of(buf)
  if win then
    api.nvim_win_set_cursor(win, { api.nvim_buf_line_count(buf), 0 })
  end
end

--- Empty the conversation (a new chat session).
function M.reset()
  local buf = M.buffer()
  set_lines(buf, 0, -1, {})
end

---@class deepseek.ui.Answer
---@field buf integer
---@field start integer  0-based line where the streamed text begins
---@field text string
---@field lookups string[]  what the model looked up ("looked up `scale` in scaling.py")
---@field last string?      the latest progress text
local Answer = {}
Answer.__index = Answer

--- Start a new section: a heading, the question, and room for the streamed answer.
---@param title string
---@param question string?
---@param code { text: string, filetype: string }?
---@return deepseek.ui.Answer
function M.begin(title, question, code)
  local buf = M.buffer()
  local head = {}
  local empty = api.nvim_buf_line_count(buf) == 1 and api.nvim_buf_get_lines(buf, 0, 1, false)[1] == ''
  if not empty then
    table.insert(head, '')
  end
  table.insert(head, '## ' .. title)
  if question and question ~= '' then
    table.insert(head, '')
    for _, line in ipairs(vim.split(question, '\n', { plain = true })) do
      table.insert(head, '> ' .. line)
    end
  end
  if code and code.text ~= '' then
    table.insert(head, '')
    table.insert(head, '```' .. (code.filetype or ''))
    vim.list_extend(head, vim.split(code.text, '\n', { plain = true }))
    table.insert(head, '```')
  end
  table.insert(head, '')
  table.insert(head, '_…thinking_')
  local start = empty and 0 or api.nvim_buf_line_count(buf)
  set_lines(buf, empty and 0 or -1, -1, head)
  M.open()
  follow(buf)
  return setmetatable({ buf = buf, start = start + #head - 1, text = '', lookups = {} }, Answer)
end

--- Markdown emphasis around text that may hold underscores.
---@param text string
---@return string
local function italic(text)
  return '_' .. text:gsub('_', '\\_') .. '_'
end

--- The look-ups the model made, one list item each, then a blank line.
---@param lookups string[]
---@return string[]
local function lookup_lines(lookups)
  local lines = {}
  for _, summary in ipairs(lookups) do
    table.insert(lines, '- ' .. summary)
  end
  if #lines > 0 then
    table.insert(lines, '')
  end
  return lines
end

---@param lines string[]
function Answer:_show(lines)
  if not api.nvim_buf_is_valid(self.buf) then
    return
  end
  set_lines(self.buf, self.start, -1, lines)
  follow(self.buf)
end

--- While the answer streams: the look-ups so far and the latest progress text (the end of
--- the answer so far).
---@param message string?
function Answer:progress(message)
  self.last = message or self.last
  local lines = lookup_lines(self.lookups)
  table.insert(lines, italic(self.last or '…thinking'))
  self:_show(lines)
end

--- A look-up the model made (a progress report's `lookup`): kept above the answer.
---@param summary string
function Answer:lookup(summary)
  table.insert(self.lookups, summary)
  self:progress(nil)
end

--- The language of a file name, for a code fence.
---@param path string
---@return string
local function fence_language(path)
  return vim.filetype.match({ filename = path }) or ''
end

--- The final answer replaces what was streamed (it is authoritative). Write tests answers
--- (`path`, `code`, `file`) show the test file's code, not the JSON it came as.
---@param result { content: string?, reasoningContent: string?, usage: table?, model: string?, applied: boolean?, reason: string?, lookups: string[]?, notice: string?, path: string?, code: string?, file: { path: string, uri: string, created: boolean }? }
function Answer:finish(result)
  local lines = {}
  if type(result.lookups) == 'table' then
    self.lookups = result.lookups
  end
  vim.list_extend(lines, lookup_lines(self.lookups))
  if result.reasoningContent and result.reasoningContent ~= '' then
    table.insert(lines, '<details><summary>Reasoning</summary>')
    table.insert(lines, '')
    vim.list_extend(lines, vim.split(result.reasoningContent, '\n', { plain = true }))
    table.insert(lines, '')
    table.insert(lines, '</details>')
    table.insert(lines, '')
  end
  local content = (result.content or result.message or ''):gsub('%s+$', '')
  if type(result.path) == 'string' and type(result.code) == 'string' then
    content = ('`%s`:\n\n```%s\n%s\n```'):format(
      result.path, fence_language(result.path), result.code:gsub('%s+$', ''))
  end
  vim.list_extend(lines, vim.split(content, '\n', { plain = true }))
  if type(result.notice) == 'string' and result.notice ~= '' then
    vim.list_extend(lines, { '', '**Note:** ' .. result.notice })
  end
  local file = type(result.file) == 'table' and result.file or nil
  if result.applied == true and file then
    local done = file.created and 'Created' or 'Added the tests to'
    vim.list_extend(lines, { '', ('_%s `%s`._'):format(done, file.path) })
  elseif result.applied == true then
    vim.list_extend(lines, { '', '_Applied to the buffer._' })
  elseif result.applied == false then
    vim.list_extend(lines, { '', '_Not applied: ' .. (result.reason or 'no reason given') .. '_' })
  end
  local usage = result.usage
  if type(usage) == 'table' and usage.totalTokens then
    table.insert(lines, '')
    table.insert(
      lines,
      ('_%stokens: %d in (%d cached), %d out_'):format(
        result.model and result.model ~= '' and (result.model .. ' · ') or '',
        usage.promptTokens or 0,
        usage.promptCacheHitTokens or 0,
        usage.completionTokens or 0
      )
    )
  end
  self.text = content
  self:_show(lines)
end

---@param message string
function Answer:fail(message)
  self:_show({ '**Error:** ' .. message })
end

return M
