-- :DeepSeekBalance, :DeepSeekStatus and :DeepSeekToggle show their answers as messages;
-- while completions are off, <Tab> falls back to its previous mapping.
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
  -- With no suggestion, <Tab> keeps its previous meaning (Neovim's snippet jump).
  h.feed('Go')
  h.feed('<Cmd>lua vim.snippet.expand("foo(${1:x}, ${2:y})")<CR>')
  h.type('a')
  h.feed('<Tab>')
  h.type('b')
  h.feed('<Esc>')
  h.observe('snippet_line', vim.api.nvim_get_current_line())
  vim.cmd('DeepSeekToggle on')
  h.wait('toggle message', function()
    return messages():find('completions on')
  end, 5000)
  h.observe('balance_result', require('deepseek.commands').last_balance or vim.NIL)
end
