-- <M-]>/<M-[> ask with triggerKind Invoked and cycle through the server's alternatives with a
-- "(i/N)" count; typing keeps the alternative shown while it matches. The input names the
-- alternative to choose ({inline, lines}) and what to type then. Buffer: "def add(a, b):\n    \n".
return function(h)
  local input = h.input()
  h.wait_attached()
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  h.feed('A') -- entering insert mode asks
  h.observe('automatic', h.wait('suggestion', h.ghost, 5000) or vim.NIL)
  h.sleep(100)
  --- Press `keys` and wait until another suggestion (or count) is shown.
  local function press(keys, what)
    local before = h.ghost() or {}
    h.feed(keys, 20)
    return h.wait(what, function()
      local g = h.ghost()
      return g and g.hint and (g.hint ~= before.hint or g.inline ~= before.inline) and g
    end, 5000) or vim.NIL
  end
  local cycle = {}
  table.insert(cycle, press('<M-]>', 'the second suggestion'))
  table.insert(cycle, press('<M-]>', 'the third suggestion'))
  table.insert(cycle, press('<M-]>', 'the first suggestion again'))
  table.insert(cycle, press('<M-[>', 'the third suggestion again'))
  h.observe('cycle', cycle)
  for _ = 1, 3 do
    local g = h.ghost()
    if g and g.inline == input.choose.inline and vim.deep_equal(g.lines, input.choose.lines) then
      break
    end
    press('<M-]>', 'the next suggestion')
  end
  h.observe('chosen', h.ghost() or vim.NIL)
  h.type(input.type, 60)
  h.sleep(500) -- longer than any client wait: a new answer would have come
  h.observe('after_typing', h.ghost() or vim.NIL)
  if input.cycle_after_typing then
    h.observe('cycled_after_typing', press('<M-]>', 'the other alternative left'))
  end
  h.observe('line', vim.api.nvim_get_current_line())
end
