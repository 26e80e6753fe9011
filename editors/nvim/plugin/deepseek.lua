-- User commands of deepseek.nvim. They load the plugin's modules only when run, so startup cost
-- is this file. The server itself is registered by `require('deepseek').setup()`.
if vim.g.loaded_deepseek then
  return
end
vim.g.loaded_deepseek = true

local function cmd(name, fn, opts)
  vim.api.nvim_create_user_command(name, function(args)
    fn(require('deepseek.commands'), args)
  end, opts)
end

cmd('DeepSeekAsk', function(c, args)
  c.ask(args)
end, {
  nargs = '*',
  range = true,
  bang = true,
  desc = 'Ask DeepSeek about the selection (! starts a new conversation)',
})

for name, kind in pairs({
  DeepSeekExplain = 'explain',
  DeepSeekRefactor = 'refactor',
  DeepSeekDocument = 'document',
  DeepSeekTests = 'tests',
  DeepSeekFix = 'fix',
}) do
  cmd(name, function(c, args)
    c.action(kind, args)
  end, { range = true, desc = 'DeepSeek: ' .. kind .. ' the selected code' })
end

cmd('DeepSeekBalance', function(c)
  c.balance()
end, { desc = 'Show the DeepSeek account balance' })

cmd('DeepSeekModels', function(c)
  c.models()
end, { desc = 'List the DeepSeek models of the account' })

cmd('DeepSeekStatus', function(c)
  c.status()
end, { desc = 'Show the DeepSeek server status and usage' })

cmd('DeepSeekToggle', function(c, args)
  c.toggle(args)
end, {
  nargs = '?',
  complete = function()
    return { 'on', 'off' }
  end,
  desc = 'Turn DeepSeek inline completions off or on',
})

cmd('DeepSeekClearCache', function(c)
  c.clear_cache()
end, { desc = 'Forget remembered DeepSeek completions' })
