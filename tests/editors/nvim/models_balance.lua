-- :DeepSeekModels, then :DeepSeekBalance; records the messages each one left in :messages
-- (the server also sends a window/showMessage while such a command runs).
return function(h)
  h.wait_attached()
  local function messages()
    return vim.api.nvim_exec2('messages', { output = true }).output
  end
  local function run(command, name, pattern)
    vim.cmd('messages clear')
    vim.cmd(command)
    h.wait(name .. ' message', function()
      return messages():find(pattern)
    end, 5000)
    h.sleep(400) -- a second message would come right after the first
    h.observe(name, messages())
  end
  run('DeepSeekModels', 'models', 'DeepSeek')
  run('DeepSeekBalance', 'balance', 'DeepSeek')
end
