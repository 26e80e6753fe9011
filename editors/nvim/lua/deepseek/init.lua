-- deepseek.nvim: DeepSeek ghost text, chat and code actions through the deepseek-lsp server.
--
--   require('deepseek').setup({ settings = { model = 'auto' } })
--
-- See `:help deepseek`.
local api = vim.api
local config = require('deepseek.config')

local M = {}

local attach_group = api.nvim_create_augroup('deepseek.attach', { clear = true })

---@param bufnr integer
---@param client vim.lsp.Client
local function on_attach(bufnr, client)
  require('deepseek.inline').attach(bufnr)
  vim.b[bufnr].deepseek_client_id = client.id
end

--- Register the server and the ghost text. Safe to call again with new options.
---@param opts deepseek.Options|table|nil
function M.setup(opts)
  if vim.fn.has('nvim-0.11') ~= 1 then
    vim.notify('deepseek.nvim needs Neovim 0.11 or newer', vim.log.levels.ERROR)
    return
  end
  local first = not M._did_setup
  M._did_setup = true
  config.set(opts)

  api.nvim_set_hl(0, 'DeepSeekSuggestion', { link = 'Comment', default = true })
  api.nvim_set_hl(0, 'DeepSeekSuggestionCount', { link = 'NonText', default = true })
  api.nvim_clear_autocmds({ group = attach_group })
  api.nvim_create_autocmd('LspAttach', {
    group = attach_group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == 'deepseek' then
        on_attach(args.buf, client)
      end
    end,
  })
  api.nvim_create_autocmd('LspDetach', {
    group = attach_group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == 'deepseek' then
        require('deepseek.inline').detach(args.buf)
      end
    end,
  })

  local dlsp = require('deepseek.lsp')
  dlsp.register()
  if not first then
    dlsp.push_settings()
  end
  -- Buffers the client is already attached to (setup called late, e.g. by a lazy loader).
  for _, client in ipairs(vim.lsp.get_clients({ name = 'deepseek' })) do
    for bufnr in pairs(client.attached_buffers) do
      on_attach(bufnr, client)
    end
  end
  require('deepseek.inline').set_keymaps()
end

--- Accept the shown suggestion; `kind` is 'all' (default), 'line' or 'word'.
---@param kind? 'all'|'line'|'word'
---@return boolean accepted
function M.accept(kind)
  return require('deepseek.inline').accept(kind)
end

---@return boolean dismissed
function M.dismiss()
  return require('deepseek.inline').dismiss()
end

---@param delta? integer
function M.next(delta)
  require('deepseek.inline').next(delta or 1)
end

---@return boolean
function M.is_visible()
  return require('deepseek.inline').visible()
end

return M
