-- Dismiss hides the suggestion; accept-word and accept-line insert pieces of it.
-- Buffer: "def add(a, b):\n    \n".
return function(h)
  h.wait_attached()
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  h.feed('A')
  h.type('ret')
  h.wait('suggestion', h.ghost, 5000)
  h.feed('<C-]>', 50)
  h.observe('after_dismiss', h.ghost() or vim.NIL)
  h.sleep(400)
  h.observe('after_dismiss_pause', h.ghost() or vim.NIL)
  h.type('u')
  h.observe('after_u', h.wait('suggestion after u', h.ghost, 5000))
  h.feed('<M-w>', 50)
  h.observe('line_after_word', vim.api.nvim_get_current_line())
  h.observe('after_word', h.wait('rest after word', function()
    local g = h.ghost()
    return g and g.inline ~= '' and g
  end, 3000))
  h.feed('<M-l>', 100)
  h.observe('line_after_line', vim.api.nvim_get_current_line())
end
