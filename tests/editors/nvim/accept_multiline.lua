-- A multi-line suggestion on an empty line: first line inline, the rest as virtual lines;
-- <Tab> inserts all of it. Buffer: "def total(xs):\n    \n".
return function(h)
  h.wait_attached()
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  h.feed('A')
  h.observe('shown', h.wait('suggestion', h.ghost, 5000))
  h.feed('<Tab>', 150)
  h.observe('lines', h.lines())
  h.observe('cursor', vim.api.nvim_win_get_cursor(0))
end
