-- :DeepSeekStatus says why the last completion request was not sent to DeepSeek: with
-- completions off, typing asks the server, which skips the request ("disabled").
return function(h)
  h.wait_attached()
  local function messages()
    return vim.api.nvim_exec2('messages', { output = true }).output
  end
  vim.cmd('DeepSeekToggle off')
  h.wait('toggle message', function()
    return messages():find('completions off')
  end, 5000)
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  h.feed('A')
  h.type('ret')
  h.sleep(600) -- longer than Neovim's own 200 ms debounce
  h.feed('<Esc>')
  vim.cmd('messages clear')
  vim.cmd('DeepSeekStatus')
  h.wait('status message', function()
    return messages():find('DeepSeek status:')
  end, 5000)
  h.observe('status', messages())
  h.observe('result', require('deepseek.commands').last_status or vim.NIL)
end
