-- Typing into a multi-line suggestion across a line break, then <Tab>: only the rest is
-- inserted. Buffer: "def total(xs):\n    \n".
return function(h)
  h.wait_attached()
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  h.feed('A')
  h.observe('shown', h.wait('suggestion', h.ghost, 5000))
  h.type('total = 0', 30)
  h.feed('<CR>', 30)
  h.type('for', 30)
  h.feed('<Tab>', 150)
  h.observe('lines', h.lines())
end
