-- Test harness for headless Neovim: runs a scenario as a coroutine that sleeps with vim.defer_fn
-- (keys fed while blocked in vim.wait are not processed), records observations, writes them
-- as JSON to $DEEPSEEK_TEST_OUT and quits. Any error or the deadline also ends the run.
local api = vim.api

local H = {}

local out_path = assert(vim.env.DEEPSEEK_TEST_OUT, 'DEEPSEEK_TEST_OUT not set')
local deadline_ms = tonumber(vim.env.DEEPSEEK_TEST_DEADLINE_MS or '25000')

H.result = { observations = {}, log = {} }
local finished = false

local function write_and_quit()
  if finished then
    return
  end
  finished = true
  H.result.messages = api.nvim_exec2('messages', { output = true }).output
  H.result.nvim_version = tostring(vim.version())
  local f = assert(io.open(out_path, 'w'))
  f:write(vim.json.encode(H.result))
  f:close()
  -- Leave at once: the test waits for the process, not for a graceful LSP shutdown.
  vim.cmd('qall!')
end

function H.log(msg)
  table.insert(H.result.log, ('%d %s'):format(vim.uv.now() % 1000000, msg))
end

--- Record a named observation (a value the test asserts on).
function H.observe(name, value)
  H.result.observations[name] = value == nil and vim.NIL or value
end

function H.sleep(ms)
  local co = coroutine.running()
  vim.defer_fn(function()
    local ok, err = coroutine.resume(co)
    if not ok then
      H.result.error = debug.traceback(co, err)
      write_and_quit()
    end
  end, ms)
  coroutine.yield()
end

--- Poll `cond` every 20 ms until it returns a truthy value or `timeout_ms` passes.
---@return any value of cond, or nil on timeout
function H.wait(what, cond, timeout_ms)
  local stop = vim.uv.now() + (timeout_ms or 5000)
  while vim.uv.now() < stop do
    local ok, value = pcall(cond)
    if ok and value then
      return value
    end
    H.sleep(20)
  end
  H.log('timed out waiting for ' .. what)
  table.insert(H.result.timeouts, what)
  return nil
end
H.result.timeouts = {}

--- Feed keys as if typed (mappings apply), then let the main loop process them.
function H.feed(keys, pause_ms)
  api.nvim_feedkeys(vim.keycode(keys), 'mt', false)
  H.sleep(pause_ms or 40)
end

--- Type text one character at a time, like a person.
function H.type(text, pause_ms)
  for ch in text:gmatch('.[\128-\191]*') do
    H.feed(ch, pause_ms or 60)
  end
end

--- The deepseek client attached to the current buffer, once initialized.
function H.wait_attached(timeout_ms)
  return H.wait('LspAttach', function()
    local client = vim.lsp.get_clients({ bufnr = 0, name = 'deepseek' })[1]
    return client and client.initialized and client
  end, timeout_ms or 15000)
end

local HINT_GROUPS = { DeepSeekSuggestionCount = true, ComplHintMore = true }

--- Text of the ghost text shown in the current buffer (the plugin's or Neovim's own):
--- { inline = first line, lines = following lines, hint = "(i/N)" or nil } or nil.
function H.ghost()
  local names = { 'deepseek.ghost', 'nvim.lsp.inline_completion' }
  local spaces = api.nvim_get_namespaces()
  for _, name in ipairs(names) do
    local ns = spaces[name]
    if ns then
      local marks = api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
      if #marks > 0 then
        local d = marks[1][4]
        local hint = nil
        -- The "(i/N)" count of alternatives is drawn after the text in its own highlight.
        local function text_of(chunks)
          local parts = {}
          for _, chunk in ipairs(chunks) do
            if HINT_GROUPS[chunk[2]] then
              hint = chunk[1]
            else
              table.insert(parts, chunk[1])
            end
          end
          return table.concat(parts)
        end
        local lines = {}
        for _, vl in ipairs(d.virt_lines or {}) do
          table.insert(lines, text_of(vl))
        end
        return {
          namespace = name,
          row = marks[1][2],
          col = marks[1][3],
          inline = text_of(d.virt_text or {}),
          lines = lines,
          hint = hint,
          pos = d.virt_text_pos,
        }
      end
    end
  end
  return nil
end

--- The test's input ($DEEPSEEK_TEST_INPUT, a JSON file), or {}.
function H.input()
  local path = vim.env.DEEPSEEK_TEST_INPUT
  if not path or path == '' then
    return {}
  end
  local f = assert(io.open(path, 'r'))
  local data = vim.json.decode(f:read('*a'))
  f:close()
  return data
end

--- Seconds on the monotonic clock the simulator stamps requests with (time.monotonic()).
function H.now()
  return vim.uv.hrtime() / 1e9
end

function H.lines(bufnr)
  return api.nvim_buf_get_lines(bufnr or 0, 0, -1, false)
end

--- Run `scenario` (a function) as a coroutine after startup.
function H.run(scenario)
  vim.defer_fn(function()
    H.result.error = H.result.error or ('deadline of ' .. deadline_ms .. ' ms passed')
    write_and_quit()
  end, deadline_ms)
  vim.api.nvim_create_autocmd('VimEnter', {
    once = true,
    callback = function()
      local co = coroutine.create(function()
        scenario(H)
        write_and_quit()
      end)
      vim.schedule(function()
        local ok, err = coroutine.resume(co)
        if not ok then
          H.result.error = debug.traceback(co, err)
          write_and_quit()
        end
      end)
    end,
  })
end

return H
