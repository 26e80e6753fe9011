-- :checkhealth deepseek, with the server running; the commands exist (plugin/ was sourced).
return function(h)
  h.wait_attached()
  h.observe('has_commands', vim.fn.exists(':DeepSeekAsk') == 2 and vim.fn.exists(':DeepSeekBalance') == 2)
  vim.cmd('checkhealth deepseek')
  h.observe('report', h.lines())
end
