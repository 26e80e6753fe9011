-- Registration of the `deepseek` server with vim.lsp.config / vim.lsp.enable, and small request
-- helpers the commands share.
local config = require('deepseek.config')

local M = {}

M.name = 'deepseek'

--- Filetypes the server must not attach to: ours plus the server's `disabledLanguages`.
---@return table<string, boolean>
local function disabled_set()
  local opts = config.get()
  local set = {}
  for _, ft in ipairs(opts.disabled_filetypes or {}) do
    set[ft] = true
  end
  for _, ft in ipairs(opts.settings.disabledLanguages or {}) do
    set[ft] = true
  end
  return set
end

--- Client-side handlers for the commands of the server's code actions.
---@return table<string, fun(command: lsp.Command, ctx: table)>
local function code_action_commands()
  local commands = {}
  for _, kind in ipairs({ 'explain', 'refactor', 'document', 'tests', 'fix', 'chat' }) do
    commands['deepseek.' .. kind] = function(command, ctx)
      require('deepseek.commands').code_action_command(command, ctx)
    end
  end
  return commands
end

--- The vim.lsp.Config for the current options.
---@return vim.lsp.Config
function M.client_config()
  local opts = config.get()
  local capabilities = vim.lsp.protocol.make_client_capabilities()
  -- Declaring inline completion tells the server we draw ghost text ourselves, so it leaves the
  -- completion menu alone (it only fills the menu for clients without inline completion).
  -- Neovim 0.12 declares it already; 0.11 does not, and our renderer stands in for it.
  if opts.ghost_text.enabled then
    capabilities.textDocument.inlineCompletion = { dynamicRegistration = false }
  end
  -- Neovim applies `documentChanges` (with CreateFile) but does not say so; Write tests needs
  -- it to create the test file.
  capabilities.workspace = capabilities.workspace or {}
  capabilities.workspace.workspaceEdit = capabilities.workspace.workspaceEdit or {}
  capabilities.workspace.workspaceEdit.documentChanges = true
  if opts.capabilities then
    capabilities = vim.tbl_deep_extend('force', capabilities, opts.capabilities)
  end
  local settings = vim.deepcopy(opts.settings)
  local markers = opts.root_markers
  return {
    cmd = opts.cmd,
    cmd_env = opts.cmd_env,
    filetypes = opts.filetypes,
    capabilities = capabilities,
    -- Send each edit at once (Neovim waits up to 150 ms by default, sending several together):
    -- the server times its wait from the last edit and learns the typing rhythm from them.
    flags = { debounce_text_changes = 0 },
    -- The server reads initializationOptions first and pulls `workspace/configuration`
    -- section `deepseek` after; Neovim answers the pull from `settings`. The answer window
    -- shows every answer, so the server need not write answer pages (Markdown files it
    -- would open with window/showDocument) for this client.
    init_options = vim.tbl_extend('force', settings, { answerPages = false }),
    settings = { deepseek = settings },
    -- The server's code actions run these commands: answers go to the answer window.
    commands = code_action_commands(),
    handlers = {
      ['window/showMessage'] = function(err, params, ctx)
        return require('deepseek.commands').show_message(err, params, ctx)
      end,
      -- Files the server opens (the test file Write tests created) go in a code window, not
      -- in the answer window.
      ['window/showDocument'] = function(err, params, ctx)
        require('deepseek.ui').leave_answer_window()
        return vim.lsp.handlers['window/showDocument'](err, params, ctx)
      end,
    },
    -- A root_dir function lets us skip disabled filetypes while attaching to all others
    -- (`filetypes = nil` means every filetype).
    root_dir = function(bufnr, on_dir)
      if disabled_set()[vim.bo[bufnr].filetype] then
        return
      end
      on_dir(vim.fs.root(bufnr, markers))
    end,
  }
end

--- Register (or re-register) the config and enable it.
function M.register()
  vim.lsp.config(M.name, M.client_config())
  vim.lsp.enable(M.name)
end

--- Push changed settings to running clients (e.g. after `setup()` is called again).
function M.push_settings()
  local settings = config.get().settings
  for _, client in ipairs(vim.lsp.get_clients({ name = M.name })) do
    client.settings = { deepseek = vim.deepcopy(settings) }
    client:notify('workspace/didChangeConfiguration', { settings = client.settings })
  end
end

--- The running deepseek client for a buffer (or any running one).
---@param bufnr integer?
---@return vim.lsp.Client?
function M.get_client(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local clients = vim.lsp.get_clients({ name = M.name, bufnr = bufnr })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = M.name })
  end
  return clients[1]
end

--- Run a server command. `on_result(err, result)` is called on the main loop.
---@param command string
---@param args table?
---@param on_result fun(err: lsp.ResponseError?, result: any)?
---@param extra table? extra request params (e.g. workDoneToken)
---@return vim.lsp.Client?, integer?
function M.execute(command, args, on_result, extra)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.get_client(bufnr)
  if not client then
    vim.notify(
      'DeepSeek: the language server is not running (call require("deepseek").setup() and open a file)',
      vim.log.levels.WARN
    )
    return nil
  end
  local params = vim.tbl_extend('force', {
    command = command,
    arguments = args and { args } or {},
  }, extra or {})
  local _, id = client:request('workspace/executeCommand', params, function(err, result)
    if on_result then
      on_result(err, result)
    elseif err then
      vim.notify('DeepSeek: ' .. (err.message or tostring(err)), vim.log.levels.ERROR)
    end
  end, bufnr)
  return client, id
end

return M
