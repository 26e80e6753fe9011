-- The server's code actions from vim.lsp.buf.code_action() on a selection: "Explain" streams
-- into the answer window; "Ask about the selection" asks for the question first.
-- Buffer: "def add(a, b):\n    return a+b\n".
return function(h)
  h.wait_attached()
  ---@diagnostic disable-next-line: duplicate-set-field
  vim.ui.input = function(opts, on_confirm)
    h.observe('prompt', opts.prompt)
    on_confirm('Is it fast?')
  end
  local function answer_done(count)
    return function()
      local buf = require('deepseek.ui').answer_bufnr()
      local text = buf and table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n') or ''
      local _, done = text:gsub('_[^\n]*tokens: ', '')
      return done >= count and text
    end
  end
  local function run(title)
    vim.lsp.buf.code_action({
      range = { start = { 1, 0 }, ['end'] = { 2, 14 } },
      filter = function(action)
        return action.title == title
      end,
      apply = true,
    })
  end
  run('DeepSeek: Explain')
  h.observe('after_explain', h.wait('explain answer', answer_done(1), 15000) or vim.NIL)
  run('DeepSeek: Ask about the selection')
  h.observe('after_ask', h.wait('ask answer', answer_done(2), 15000) or vim.NIL)
  local names = {}
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) then
      table.insert(names, vim.fn.fnamemodify(vim.api.nvim_buf_get_name(buf), ':t'))
    end
  end
  h.observe('buffers', names)
  h.observe('current_buffer', vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ':t'))
end
