-- :DeepSeekBalance, :DeepSeekStatus and :DeepSeekToggle show their answers as messages.
return function(h)
  h.wait_attached()
  local function messages()
    return vim.api.nvim_exec2('messages', { output = true }).output
  end
  vim.cmd('DeepSeekBalance')
  h.wait('balance message', function()
    return messages():find('Balance:')
  end, 5000)
  vim.cmd('DeepSeekStatus')
  h.wait('status message', function()
    return messages():find('DeepSeek status:')
  end, 5000)
  vim.cmd('DeepSeekToggle off')
  h.wait('toggle message', function()
    return messages():find('completions off')
  end, 5000)
  vim.cmd('DeepSeekToggle on')
  h.wait('toggle message', function()
    return messages():find('completions on')
  end, 5000)
  h.observe('balance_result', require('deepseek.commands').last_balance or vim.NIL)
end
