-- The user commands: chat about code, code actions by name, account and status.
local api = vim.api
local dlsp = require('deepseek.lsp')
local ui = require('deepseek.ui')

local M = {}

-- Streaming: the server reports progress on the `workDoneToken` we put in the command's
-- argument (and, per LSP, in the request). A server may instead create its own token
-- (window/workDoneProgress/create); a `begin` on an unknown token while one of our streaming
-- requests waits for its first progress is taken as that request's stream.
---@type table<string|integer, fun(value: table)>
local listeners = {}
---@type fun(value: table)[]
local waiting = {}
local token_seq = 0
local save_created_file -- defined below

local progress_group = api.nvim_create_augroup('deepseek.progress', { clear = true })
api.nvim_create_autocmd('LspProgress', {
  group = progress_group,
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    if not (client and client.name == dlsp.name) then
      return
    end
    local params = args.data.params
    local value = params.value
    if type(value) ~= 'table' then
      return
    end
    local listener = listeners[params.token]
    if not listener and value.kind == 'begin' then
      listener = table.remove(waiting, 1)
      listeners[params.token] = listener
    end
    if listener then
      listener(value)
      if value.kind == 'end' then
        listeners[params.token] = nil
      end
    end
  end,
})

--- Write tests created a file (`result.file.created`): the server's workspace/applyEdit made a
--- buffer for it with the tests in it, and window/showDocument opened it. Neovim does not
--- write a file it was asked to create "if it does not exist", so write it now: the test file
--- is then on disk, as the command says. Appended tests are left unsaved, to be reviewed.
---@param result table
save_created_file = function(result)
  local file = result.file
  if result.applied ~= true or type(file) ~= 'table' or file.created ~= true
    or type(file.uri) ~= 'string'
  then
    return
  end
  local bufnr = vim.uri_to_bufnr(file.uri)
  if not (api.nvim_buf_is_loaded(bufnr) and vim.bo[bufnr].modified) then
    return
  end
  local name = api.nvim_buf_get_name(bufnr)
  vim.fn.mkdir(vim.fs.dirname(name), 'p')
  local ok, err = pcall(api.nvim_buf_call, bufnr, function()
    vim.cmd('silent write')
  end)
  if not ok then
    vim.notify(('DeepSeek: could not write %s: %s'):format(file.path, err), vim.log.levels.WARN)
  end
end

--- Run a command whose answer streams into the answer window.
---@param command string
---@param args table
---@param title string
---@param question string?
---@param code { text: string, filetype: string }?
local function stream_command(command, args, title, question, code)
  if not dlsp.get_client() then
    dlsp.execute(command, args) -- reports that the server is not running
    return
  end
  local answer = ui.begin(title, question, code)
  token_seq = token_seq + 1
  local token = ('deepseek-nvim-%d-%d'):format(vim.fn.getpid(), token_seq)
  local finished = false
  local function on_progress(value)
    -- Reports carry the end of the answer so far (one line); it is shown until the whole
    -- answer arrives with the result. A look-up the model made is a report of its own.
    if finished then
      return
    end
    if type(value.lookup) == 'string' and value.lookup ~= '' then
      answer:lookup(value.lookup)
    elseif type(value.message) == 'string' and value.message ~= '' then
      answer:progress(value.message)
    end
  end
  listeners[token] = on_progress
  table.insert(waiting, on_progress)
  local function stop_waiting()
    listeners[token] = nil
    for i, fn in ipairs(waiting) do
      if fn == on_progress then
        table.remove(waiting, i)
        break
      end
    end
  end
  args.workDoneToken = token
  dlsp.execute(command, args, function(err, result)
    finished = true
    stop_waiting()
    if err then
      -- -32800: cancelled or superseded by a newer question.
      answer:fail(err.code == -32800 and 'cancelled' or (err.message or vim.inspect(err)))
      return
    end
    if type(result) ~= 'table' then
      result = { content = type(result) == 'string' and result or '_(no answer)_' }
    end
    answer:finish(result)
    save_created_file(result)
  end, { workDoneToken = token })
end

--- The LSP range of a command invocation: the visual selection when the command was run on it,
--- else the given lines.
---@param opts table user command opts
---@param bufnr integer
---@param encoding string
---@return lsp.Range, string text
local function command_range(opts, bufnr, encoding)
  local line1, line2 = opts.line1, opts.line2
  local srow, scol, erow, ecol -- 0-based rows, byte columns (end exclusive)
  local vstart, vend = api.nvim_buf_get_mark(bufnr, '<'), api.nvim_buf_get_mark(bufnr, '>')
  local vmode = vim.fn.visualmode()
  if opts.range == 2 and vstart[1] == line1 and vend[1] == line2 and vmode == 'v' then
    -- A characterwise selection: from its first to its last character, inclusive.
    srow, scol = vstart[1] - 1, vstart[2]
    erow = vend[1] - 1
    local line = api.nvim_buf_get_lines(bufnr, erow, erow + 1, false)[1] or ''
    local last = vend[2] + 1
    -- Step over the whole last (multibyte) character.
    while last < #line and vim.str_utf_start(line, last + 1) ~= 0 do
      last = last + 1
    end
    ecol = math.min(last, #line)
  else
    srow, scol = line1 - 1, 0
    erow = line2 - 1
    ecol = #(api.nvim_buf_get_lines(bufnr, erow, erow + 1, false)[1] or '')
  end
  local text = table.concat(api.nvim_buf_get_text(bufnr, srow, scol, erow, ecol, {}), '\n')
  local function pos(row, col)
    local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
    return { line = row, character = vim.str_utfindex(line, encoding, col, false) }
  end
  return { start = pos(srow, scol), ['end'] = pos(erow, ecol) }, text
end

---@param opts table
---@return table? args, { text: string, filetype: string }? code
local function location_args(opts)
  local bufnr = api.nvim_get_current_buf()
  -- Only a buffer the server has open can be referred to by its URI.
  local client = vim.lsp.get_clients({ name = dlsp.name, bufnr = bufnr })[1]
  if not client then
    return nil
  end
  local range, text = command_range(opts, bufnr, client.offset_encoding)
  return { uri = vim.uri_from_bufnr(bufnr), range = range },
    { text = text, filetype = vim.bo[bufnr].filetype }
end

--- `:DeepSeekAsk [question]`: a question about the selection (or the file), with a session
--- that remembers earlier rounds; `:DeepSeekAsk!` starts a new session.
---@param opts table
function M.ask(opts)
  local args, code = nil, nil
  if opts.range > 0 then
    args, code = location_args(opts)
  end
  args = args or {}
  -- Without a range the question is about the current file, when the server has it open;
  -- elsewhere (e.g. in the answer window) it is a plain question.
  if opts.range == 0 and vim.lsp.get_clients({ name = dlsp.name, bufnr = 0 })[1] then
    args.uri = vim.uri_from_bufnr(0)
  end
  local function send(question)
    if not question or vim.trim(question) == '' then
      return
    end
    args.question = question
    if opts.bang then
      args.newSession = true
      ui.reset()
    end
    stream_command('deepseek.chat', args, 'Question', question, code)
  end
  if opts.args and opts.args ~= '' then
    send(opts.args)
  else
    vim.ui.input({ prompt = 'Ask DeepSeek: ' }, send)
  end
end

local action_titles = {
  explain = 'Explanation',
  refactor = 'Refactoring',
  document = 'Documentation',
  tests = 'Tests',
  fix = 'Fix',
}

--- `:DeepSeekExplain` and friends: the code actions' commands on the selected lines.
---@param kind 'explain'|'refactor'|'document'|'tests'|'fix'
---@param opts table
function M.action(kind, opts)
  local args, code = location_args(opts)
  if not args then
    if dlsp.get_client() then
      vim.notify('DeepSeek is not attached to this buffer', vim.log.levels.WARN)
    else
      dlsp.execute('deepseek.' .. kind, {}) -- reports that the server is not running
    end
    return
  end
  if kind == 'fix' then
    -- The first diagnostic on the range, as the code action would send it.
    local diags = vim.diagnostic.get(0, { lnum = args.range.start.line })
    if diags[1] and diags[1].user_data and diags[1].user_data.lsp then
      args.diagnostic = diags[1].user_data.lsp
    elseif diags[1] then
      local d = diags[1]
      args.diagnostic = {
        message = d.message,
        severity = d.severity,
        source = d.source,
        range = args.range,
      }
    end
  end
  stream_command('deepseek.' .. kind, args, action_titles[kind], nil, code)
end

--- The code an LSP range of a loaded buffer covers, for the answer window's quote.
---@param args { uri: string?, range: lsp.Range? }
---@param client vim.lsp.Client?
---@return { text: string, filetype: string }?
local function code_of(args, client)
  if type(args.uri) ~= 'string' or type(args.range) ~= 'table' or not client then
    return nil
  end
  local bufnr = vim.uri_to_bufnr(args.uri)
  if not api.nvim_buf_is_loaded(bufnr) then
    return nil
  end
  local function pos(p)
    local line = api.nvim_buf_get_lines(bufnr, p.line, p.line + 1, false)[1] or ''
    return p.line, vim.str_byteindex(line, client.offset_encoding, p.character, false)
  end
  local ok, lines = pcall(function()
    local srow, scol = pos(args.range.start)
    local erow, ecol = pos(args.range['end'])
    return api.nvim_buf_get_text(bufnr, srow, scol, erow, ecol, {})
  end)
  if not ok then
    return nil
  end
  return { text = table.concat(lines, '\n'), filetype = vim.bo[bufnr].filetype }
end

--- A code action's command, run from |vim.lsp.buf.code_action()| (the client's `commands`):
--- streamed into the answer window like the plugin's own commands, as the server writes no
--- answer page for this client. "Ask about the selection" asks for the question first.
---@param command lsp.Command
---@param ctx { client_id: integer }
function M.code_action_command(command, ctx)
  local args = vim.deepcopy(type(command.arguments) == 'table' and command.arguments[1] or {})
  if type(args) ~= 'table' then
    args = {}
  end
  local kind = command.command:match('^deepseek%.(.+)$')
  local code = code_of(args, vim.lsp.get_client_by_id(ctx.client_id))
  if kind ~= 'chat' then
    stream_command(command.command, args, action_titles[kind] or command.title, nil, code)
    return
  end
  local function send(question)
    if not question or vim.trim(question) == '' then
      return
    end
    args.question = question
    stream_command('deepseek.chat', args, 'Question', question, code)
  end
  if type(args.question) == 'string' and vim.trim(args.question) ~= '' then
    send(args.question)
  else
    vim.ui.input({ prompt = 'Ask DeepSeek: ' }, send)
  end
end

---@param result any
---@return string
local function describe(result)
  if type(result) == 'string' then
    return result
  end
  if type(result) == 'table' and type(result.message) == 'string' then
    return result.message
  end
  return vim.inspect(result)
end

-- The server also announces the results of `deepseek.models` and `deepseek.balance` with a
-- window/showMessage sent just before its answer. The plugin shows those results itself (and
-- their failures, which the server leaves to the client), so while such a command runs, the
-- server's message starting with its prefix is not shown: one command, one message.
---@type table<string, integer>
local quiet = {}

--- Handler for window/showMessage.
---@param err lsp.ResponseError?
---@param params lsp.ShowMessageParams
---@param ctx lsp.HandlerContext
function M.show_message(err, params, ctx)
  local message = params and params.message
  if type(message) == 'string' and params.type ~= vim.lsp.protocol.MessageType.Error then
    for prefix, running in pairs(quiet) do
      if running > 0 and vim.startswith(message, prefix) then
        return vim.NIL
      end
    end
  end
  return vim.lsp.handlers['window/showMessage'](err, params, ctx)
end

--- Run a command whose result the plugin shows; `show(result)` is called on success, a
--- failure is shown as an error.
---@param command string
---@param prefix string  how the server's own message for this command starts
---@param show fun(result: any)
local function run_shown(command, prefix, show)
  quiet[prefix] = (quiet[prefix] or 0) + 1
  local client = dlsp.execute(command, nil, function(err, result)
    quiet[prefix] = quiet[prefix] - 1
    if err then
      local message = err.message or (command .. ' failed')
      if not vim.startswith(message, 'DeepSeek') then
        message = 'DeepSeek: ' .. message
      end
      vim.notify(message, vim.log.levels.ERROR)
      return
    end
    show(result)
  end)
  if not client then
    quiet[prefix] = quiet[prefix] - 1
  end
end

--- `:DeepSeekBalance`
function M.balance()
  run_shown('deepseek.balance', 'DeepSeek: Balance', function(result)
    M.last_balance = result
    vim.notify('DeepSeek: ' .. describe(result), vim.log.levels.INFO)
  end)
end

--- `:DeepSeekModels`
function M.models()
  run_shown('deepseek.models', 'DeepSeek models:', function(result)
    if type(result) ~= 'table' or type(result.models) ~= 'table' then
      vim.notify('DeepSeek models: ' .. describe(result), vim.log.levels.INFO)
      return
    end
    local lines = { 'DeepSeek models:' }
    for _, id in ipairs(result.models) do
      local notes = {}
      if id == result.autoFim then
        table.insert(notes, 'auto FIM')
      end
      if id == result.autoChat then
        table.insert(notes, 'auto chat')
      end
      if id == result.autoChatReasoning then
        table.insert(notes, 'auto reasoning')
      end
      table.insert(lines, '  ' .. id .. (#notes > 0 and ('  (' .. table.concat(notes, ', ') .. ')') or ''))
    end
    table.insert(lines, ('  settings: model=%s chatModel=%s'):format(
      tostring(result.model), tostring(result.chatModel)))
    vim.notify(table.concat(lines, '\n'), vim.log.levels.INFO)
  end)
end

--- The lines of `:DeepSeekStatus` for a `deepseek.status` result: one `key: value` per line,
--- and why the last completion request was not sent upstream (`lastSkip`).
---@param result any
---@return string[]
function M.status_lines(result)
  local lines = { 'DeepSeek status:' }
  if type(result) ~= 'table' then
    table.insert(lines, '  ' .. describe(result))
    return lines
  end
  local keys = vim.tbl_keys(result)
  table.sort(keys)
  for _, key in ipairs(keys) do
    local value = result[key]
    if key ~= 'lastSkip' then
      if type(value) == 'table' then
        value = vim.inspect(value, { newline = ' ', indent = '' })
      end
      table.insert(lines, ('  %s: %s'):format(key, tostring(value)))
    end
  end
  local skip = result.lastSkip
  if type(skip) == 'table' and type(skip.reason) == 'string' then
    local name = type(skip.uri) == 'string' and vim.fs.basename(vim.uri_to_fname(skip.uri)) or nil
    table.insert(lines, '  last skipped: ' .. skip.reason .. (name and (' (' .. name .. ')') or ''))
  end
  return lines
end

--- `:DeepSeekStatus`: the server's counters, one `key: value` per line.
function M.status()
  dlsp.execute('deepseek.status', nil, function(err, result)
    if err then
      vim.notify('DeepSeek: ' .. (err.message or 'status failed'), vim.log.levels.ERROR)
      return
    end
    M.last_status = result
    vim.notify(table.concat(M.status_lines(result), '\n'), vim.log.levels.INFO)
  end)
end

--- `:DeepSeekToggle [on|off]`
---@param opts table
function M.toggle(opts)
  local args = nil
  if opts.args == 'on' or opts.args == 'off' then
    args = { enabled = opts.args == 'on' }
  end
  dlsp.execute('deepseek.toggle', args, function(err, result)
    if err then
      vim.notify('DeepSeek: ' .. (err.message or 'toggle failed'), vim.log.levels.ERROR)
      return
    end
    if type(result) == 'table' and result.enabled == false then
      require('deepseek.inline').clear_all()
    end
  end)
end

--- `:DeepSeekClearCache`
function M.clear_cache()
  dlsp.execute('deepseek.clearCache', nil, function(err)
    if err then
      vim.notify('DeepSeek: ' .. (err.message or 'clearCache failed'), vim.log.levels.ERROR)
    end
  end)
end

return M
