-- :DeepSeekRefactor on a visual selection: the server's workspace/applyEdit changes the buffer
-- and the answer window says so.
return function(h)
  h.wait_attached()
  h.feed('ggVj')
  h.feed(':DeepSeekRefactor<CR>')
  h.observe('answer', h.wait('answer', function()
    local buf = require('deepseek.ui').answer_bufnr()
    local lines = buf and vim.api.nvim_buf_get_lines(buf, 0, -1, false) or {}
    local text = table.concat(lines, '\n')
    return (text:find('_.*tokens: ') or text:find('**Error:**', 1, true)) and lines
  end, 15000) or vim.NIL)
  h.observe('lines', h.lines())
  h.observe('modified', vim.bo.modified)
end
