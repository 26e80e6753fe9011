-- :DeepSeekAsk about lines that call a function defined in another file: the model looks it up
-- and the answer window shows the look-up, while the answer streams and with the answer. Then a
-- question whose answer is cut at chatMaxTokens: the answer window says so.
-- Input: { first, last (the lines to select), question, long_question }.
return function(h)
  local input = h.input()
  h.wait_attached()
  local function text()
    local buf = require('deepseek.ui').answer_bufnr()
    return buf and table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n') or ''
  end
  local function answers(count)
    return function()
      local t = text()
      local _, done = t:gsub('_[^\n]*tokens: ', '')
      return done >= count and t
    end
  end
  local seen = {}
  local function record()
    local t = text()
    if seen[#seen] ~= t then
      table.insert(seen, t)
    end
  end
  local timer = assert(vim.uv.new_timer())
  timer:start(0, 10, vim.schedule_wrap(record))
  vim.cmd(('%d,%dDeepSeekAsk %s'):format(input.first, input.last, input.question))
  h.observe('after_lookup', h.wait('answer with a look-up', answers(1), 15000) or vim.NIL)
  vim.cmd(('%d,%dDeepSeekAsk %s'):format(input.first, input.last, input.long_question))
  h.observe('after_cut', h.wait('cut answer', answers(2), 15000) or vim.NIL)
  timer:stop()
  timer:close()
  h.observe('seen', seen)
end
