-- <Tab> right after typing into a suggestion accepts only the rest; after typing it through to
-- its end, nothing is left to accept and <Tab> inserts indentation (not the whole suggestion
-- again), both at once (before a new answer could arrive) and after a pause.
-- Buffer: "def add(a, b):\n    \n".
return function(h)
  h.wait_attached()
  vim.bo.expandtab = true
  vim.bo.shiftwidth = 4
  vim.bo.softtabstop = 4
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  h.feed('A')
  h.type('ret')
  h.wait('suggestion', h.ghost, 5000)
  h.type('u')
  h.feed('<Tab>', 100)
  h.observe('line_after_u_tab', vim.api.nvim_get_current_line())

  vim.api.nvim_buf_set_lines(0, 1, 2, false, { '    ' })
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  h.type('ret')
  h.observe('shown', h.wait('suggestion', function()
    local g = h.ghost()
    return g and g.inline ~= '' and g
  end, 5000))
  h.type('urn a + b', 60)
  h.observe('visible_at_end', require('deepseek').is_visible())
  h.feed('<Tab>', 100)
  h.observe('line_after_tab', vim.api.nvim_get_current_line())
  h.feed('<BS>', 60)
  -- Longer than any client wait (Neovim's own: 200 ms) plus the server's.
  h.sleep(600)
  h.observe('visible_after_pause', require('deepseek').is_visible())
  h.feed('<Tab>', 100)
  h.observe('line_after_pause_tab', vim.api.nvim_get_current_line())
end
