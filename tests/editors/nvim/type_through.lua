-- Typing shows the suggestion; typing through it keeps it (trimmed) without a new request;
-- leaving insert mode clears it. Buffer: "def add(a, b):\n    \n".
return function(h)
  h.wait_attached()
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  h.feed('A')
  h.type('ret')
  h.observe('shown', h.wait('suggestion', h.ghost, 5000))
  h.observe('t_shown', h.now())
  h.type('urn', 80)
  -- Longer than any client wait (Neovim's own: 200 ms) plus the server's.
  h.sleep(500)
  h.observe('t_typed', h.now())
  h.observe('after_typing', h.ghost() or vim.NIL)
  h.observe('line_after_typing', vim.api.nvim_get_current_line())
  h.feed('<Esc>', 100)
  h.observe('after_leave', h.ghost() or vim.NIL)
end
