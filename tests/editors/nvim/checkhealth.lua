-- :checkhealth deepseek, with the server running.
return function(h)
  h.wait_attached()
  vim.cmd('checkhealth deepseek')
  h.observe('report', h.lines())
end
