-- :DeepSeekAsk on a visual selection: the question comes from vim.ui.input, the answer
-- streams into the answer window (progress first, then the whole answer).
return function(h)
  h.wait_attached()
  ---@diagnostic disable-next-line: duplicate-set-field
  vim.ui.input = function(opts, on_confirm)
    h.observe('prompt', opts.prompt)
    on_confirm('What does this do?')
  end
  h.feed('ggVj')
  h.feed(':DeepSeekAsk<CR>')
  local seen = {}
  h.observe('final', h.wait('whole answer', function()
    local buf = require('deepseek.ui').answer_bufnr()
    if not buf then
      return nil
    end
    local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    local text = table.concat(lines, '\n')
    if seen[#seen] ~= text then
      table.insert(seen, text)
    end
    -- Done when the footer (or an error) is there.
    return (text:find('_.*tokens: ') or text:find('**Error:**', 1, true)) and lines
  end, 15000) or vim.NIL)
  h.observe('seen', seen)
  h.observe('windows', #vim.api.nvim_tabpage_list_wins(0))
  h.observe('current_buffer', vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ':t'))
  h.observe('answer_filetype', vim.bo[require('deepseek.ui').answer_bufnr() or 0].filetype)
  local names = {}
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) then
      table.insert(names, vim.fn.fnamemodify(vim.api.nvim_buf_get_name(buf), ':t'))
    end
  end
  h.observe('buffers', names)
end
