-- Options of the plugin: defaults, validation and merging. Everything else reads `config.get()`.
local M = {}

---@class deepseek.Keymaps
---@field accept string|false         accept the whole suggestion (falls back to the key itself)
---@field accept_line string|false    accept up to the end of the current line
---@field accept_word string|false    accept the next word
---@field next string|false           show the next suggestion
---@field prev string|false           show the previous suggestion
---@field dismiss string|false        hide the suggestion

---@class deepseek.Options
---@field cmd string[]                      how to start the server
---@field cmd_env table<string,string>?     extra environment for the server (e.g. DEEPSEEK_BASE_URL)
---@field filetypes string[]?               attach only to these filetypes (nil: all)
---@field disabled_filetypes string[]       never attach to these
---@field root_markers string[]             files that mark a workspace root
---@field settings table                    the server's `deepseek` settings (SPEC §3, camelCase)
---@field ghost_text { enabled: boolean, native: boolean|'auto', debounce_ms: integer, hl_group: string, count_hl_group: string }
---@field keymaps deepseek.Keymaps|false
---@field answer { layout: 'split'|'vsplit'|'float', width: number, height: number }
---@field capabilities table?               merged into the client capabilities

---@type deepseek.Options
M.defaults = {
  cmd = { 'deepseek-lsp' },
  cmd_env = nil,
  filetypes = nil,
  disabled_filetypes = { 'help', 'gitrebase', 'qf', 'checkhealth', 'lazy', 'mason' },
  root_markers = { '.git', 'pyproject.toml', 'package.json', 'Cargo.toml', 'go.mod' },
  settings = {},
  ghost_text = {
    enabled = true,
    -- false: the plugin draws the ghost text (0.11 and 0.12+). true or 'auto': Neovim's own
    -- `vim.lsp.inline_completion` where it exists (0.12+), which waits 200 ms after each
    -- keystroke before it asks: ghost text comes later than with the plugin's (see
    -- docs/performance.md, "Real editors").
    native = false,
    -- The plugin's wait before asking. None: the server waits itself, counted from the last
    -- change (none at all on a fresh line), so a wait here would only come on top of it.
    debounce_ms = 0,
    hl_group = 'DeepSeekSuggestion',
    -- The "(2/3)" after a suggestion when there are alternatives.
    count_hl_group = 'DeepSeekSuggestionCount',
  },
  keymaps = {
    accept = '<Tab>',
    accept_line = '<M-l>',
    accept_word = '<M-w>',
    next = '<M-]>',
    prev = '<M-[>',
    dismiss = '<C-]>',
  },
  answer = { layout = 'vsplit', width = 0.4, height = 0.4 },
  capabilities = nil,
}

---@type deepseek.Options
local current = vim.deepcopy(M.defaults)

---@param opts table?
---@return deepseek.Options
function M.set(opts)
  opts = opts or {}
  vim.validate('opts', opts, 'table')
  vim.validate('cmd', opts.cmd, 'table', true)
  vim.validate('cmd_env', opts.cmd_env, 'table', true)
  vim.validate('filetypes', opts.filetypes, 'table', true)
  vim.validate('disabled_filetypes', opts.disabled_filetypes, 'table', true)
  vim.validate('settings', opts.settings, 'table', true)
  vim.validate('ghost_text', opts.ghost_text, { 'table', 'boolean' }, true)
  vim.validate('keymaps', opts.keymaps, { 'table', 'boolean' }, true)
  vim.validate('answer', opts.answer, 'table', true)
  opts = vim.deepcopy(opts)
  if type(opts.ghost_text) == 'boolean' then
    opts.ghost_text = { enabled = opts.ghost_text }
  end
  local keymaps = opts.keymaps
  opts.keymaps = nil
  -- Lists replace the defaults instead of being merged index by index.
  current = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  for _, key in ipairs({ 'cmd', 'filetypes', 'disabled_filetypes', 'root_markers' }) do
    if opts[key] then
      current[key] = opts[key]
    end
  end
  if keymaps == false then
    current.keymaps = false
  elseif type(keymaps) == 'table' then
    current.keymaps = vim.tbl_extend('force', M.defaults.keymaps, keymaps)
  end
  return current
end

---@return deepseek.Options
function M.get()
  return current
end

--- Whether Neovim's native inline completion should draw the ghost text.
---@return boolean
function M.use_native()
  local native = current.ghost_text.native
  local available = vim.lsp.inline_completion ~= nil
  if native == 'auto' then
    return available
  end
  return native == true and available
end

return M
