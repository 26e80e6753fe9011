-- :DeepSeekTests on the function: the server creates the test file (workspace/applyEdit with a
-- CreateFile) and opens it (window/showDocument); the answer window says so.
return function(h)
  h.wait_attached()
  local code_win = vim.api.nvim_get_current_win()
  vim.cmd('1,2DeepSeekTests')
  local answer = h.wait('tests answer', function()
    local buf = require('deepseek.ui').answer_bufnr()
    local t = buf and table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n') or ''
    return (t:find('_[^\n]*tokens: ') or t:find('**Error:**', 1, true)) and t
  end, 20000)
  h.observe('answer', answer or vim.NIL)
  h.wait('the test file opened', function()
    return vim.api.nvim_buf_get_name(0):find('test_', 1, true)
  end, 5000)
  h.observe('current_buffer', vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ':.'))
  h.observe('current_window_is_code_window', vim.api.nvim_get_current_win() == code_win)
  h.observe('current_lines', h.lines())
  h.observe('modified', vim.bo.modified)
end
