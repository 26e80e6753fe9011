-- `:checkhealth deepseek`: Neovim, the server binary and its version, the key, and what
-- `deepseek-lsp doctor` finds (API reachable, balance, FIM), plus the running clients.
local config = require('deepseek.config')

local M = {}

--- The environment the server gets: the options' cmd_env, plus key and base URL from settings.
---@return table<string, string>
local function server_env()
  local opts = config.get()
  local env = vim.deepcopy(opts.cmd_env or {})
  local settings = opts.settings or {}
  if type(settings.apiKey) == 'string' and settings.apiKey ~= '' then
    env.DEEPSEEK_API_KEY = settings.apiKey
  end
  if type(settings.baseUrl) == 'string' and settings.baseUrl ~= '' then
    env.DEEPSEEK_BASE_URL = settings.baseUrl
  end
  return env
end

---@param args string[]
---@param timeout_ms integer
---@return vim.SystemCompleted?, string? error
local function run(args, timeout_ms)
  local cmd = vim.list_extend(vim.deepcopy(config.get().cmd), args)
  local ok, proc = pcall(vim.system, cmd, { text = true, env = server_env() })
  if not ok then
    return nil, tostring(proc)
  end
  local result = proc:wait(timeout_ms)
  if result.code == 124 and result.signal ~= 0 then -- vim.system's timeout killed it
    return nil, ('`%s` did not finish within %d s'):format(table.concat(cmd, ' '), timeout_ms / 1000)
  end
  return result
end

local function check_neovim()
  vim.health.start('deepseek.nvim')
  local v = vim.version()
  if vim.fn.has('nvim-0.11') == 1 then
    vim.health.ok(('Neovim %d.%d.%d'):format(v.major, v.minor, v.patch))
  else
    vim.health.error('Neovim 0.11 or newer is required')
  end
  if not require('deepseek')._did_setup then
    vim.health.warn('require("deepseek").setup() has not been called', {
      'Add `require("deepseek").setup({})` to your init.lua (or `opts = {}` in a lazy.nvim spec)',
    })
  end
  local ghost = config.get().ghost_text
  if not ghost.enabled then
    vim.health.info('Ghost text is off (ghost_text.enabled = false)')
  elseif config.use_native() then
    vim.health.ok('Ghost text: Neovim\'s vim.lsp.inline_completion')
  else
    vim.health.ok('Ghost text: drawn by deepseek.nvim')
  end
end

---@return boolean server_found
local function check_server()
  vim.health.start('deepseek-lsp server')
  local cmd = config.get().cmd
  if vim.fn.executable(cmd[1]) ~= 1 then
    vim.health.error(('`%s` is not executable'):format(cmd[1]), {
      'Install the server from a checkout of deepseek-lsp: `pipx install .` (or `uv tool install .`)',
      'or set `cmd` in setup() to the full path of `deepseek-lsp`',
    })
    return false
  end
  vim.health.ok(('Server command: `%s` (%s)'):format(table.concat(cmd, ' '), vim.fn.exepath(cmd[1])))
  local result, err = run({ '--version' }, 10000)
  if not result then
    vim.health.error('Could not run the server: ' .. err)
    return false
  end
  local version = vim.trim(result.stdout or '')
  if result.code ~= 0 or version == '' then
    vim.health.error('`--version` failed: ' .. vim.trim(result.stderr or ''))
    return false
  end
  vim.health.ok('Version: ' .. version)
  return true
end

local function check_account()
  vim.health.start('DeepSeek API (deepseek-lsp doctor)')
  local env = server_env()
  -- A present key is reported by doctor below.
  if not (env.DEEPSEEK_API_KEY or vim.env.DEEPSEEK_API_KEY) then
    vim.health.error('DEEPSEEK_API_KEY is not set', {
      'export DEEPSEEK_API_KEY=sk-... before starting Neovim (keys: platform.deepseek.com)',
    })
    return
  end
  local result, err = run({ 'doctor' }, 30000)
  if not result then
    vim.health.error(err)
    return
  end
  -- doctor prints `[ok] what` / `[FAIL] what` lines, each failure followed by `fix: ...`.
  local last_fail
  for line in vim.gsplit(result.stdout or '', '\n', { plain = true, trimempty = true }) do
    local ok_text = line:match('^%[ok%]%s*(.*)$')
    local fail_text = line:match('^%[FAIL%]%s*(.*)$')
    local fix = line:match('^%s+fix:%s*(.*)$')
    if ok_text then
      vim.health.ok(ok_text)
      last_fail = nil
    elseif fail_text then
      last_fail = fail_text
    elseif fix and last_fail then
      vim.health.error(last_fail, { fix })
      last_fail = nil
    elseif vim.trim(line) ~= '' then
      if last_fail then
        vim.health.error(last_fail)
        last_fail = nil
      end
      vim.health.info(vim.trim(line))
    end
  end
  if last_fail then
    vim.health.error(last_fail)
  end
  local stderr = vim.trim(result.stderr or '')
  if result.code ~= 0 and stderr ~= '' then
    vim.health.error(stderr)
  end
end

local function check_clients()
  vim.health.start('Running deepseek clients')
  local clients = vim.lsp.get_clients({ name = 'deepseek' })
  if #clients == 0 then
    vim.health.info('No deepseek client is running (open a file to start one)')
    return
  end
  for _, client in ipairs(clients) do
    local buffers = vim.tbl_count(client.attached_buffers)
    vim.health.ok(
      ('client %d: %d buffer(s), position encoding %s'):format(client.id, buffers, client.offset_encoding)
    )
    local response = client:request_sync(
      'workspace/executeCommand',
      { command = 'deepseek.status', arguments = {} },
      3000
    )
    local status = response and response.result
    if type(status) == 'table' then
      vim.health.info(
        ('completions %s, model %s, %s upstream requests'):format(
          status.enabled and 'on' or 'off',
          status.model ~= vim.NIL and status.model or 'auto',
          tostring(status.upstreamRequests or 0)
        )
      )
      if status.lastError and status.lastError ~= vim.NIL then
        vim.health.warn('Last error: ' .. tostring(status.lastError))
      end
    end
  end
end

function M.check()
  check_neovim()
  if check_server() then
    check_account()
  end
  check_clients()
end

return M
