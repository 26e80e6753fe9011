-- Last keystroke → ghost text at the pauses of a scripted session (tests/editors/editor_pauses.py):
-- types each pause's text at 90 ms between keys, then waits for the right ghost text. Records,
-- on the simulator's clock, when the last key was processed (TextChangedI), when the editor
-- sent each inlineCompletion request (LspRequest) and when the right ghost text was first on
-- screen (extmarks polled every 2 ms). Buffer: "def combine(first, second, factor):\n    \n".
return function(h)
  local input = h.input()
  local client = h.wait_attached()
  local bufnr = vim.api.nvim_get_current_buf()
  local last_key, sent = nil, {}
  vim.api.nvim_create_autocmd('TextChangedI', {
    buffer = bufnr,
    callback = function()
      last_key = h.now()
    end,
  })
  vim.api.nvim_create_autocmd('LspRequest', {
    callback = function(args)
      local request = args.data.request
      if
        args.data.client_id == client.id
        and request.method == 'textDocument/inlineCompletion'
        and request.type == 'pending'
      then
        table.insert(sent, h.now())
      end
    end,
  })
  local function text_of(ghost)
    if not ghost then
      return nil
    end
    return table.concat(vim.list_extend({ ghost.inline }, ghost.lines), '\n')
  end

  -- The server warms its connection at `initialized`; a person starts typing a moment later.
  h.sleep(1000)
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  h.feed('A', 100)
  local pauses = {}
  for _, pause in ipairs(input.pauses) do
    local keys = pause.typed:gsub('\n', '\r')
    h.type(keys, input.key_gap_ms)
    local key = last_key
    -- Poll the screen every 2 ms until the right ghost text is there (at most 3 s).
    local shown, seen = nil, {}
    local timer = assert(vim.uv.new_timer())
    timer:start(0, 2, vim.schedule_wrap(function()
      local text = text_of(h.ghost())
      if text and seen[#seen] ~= text then
        table.insert(seen, text)
      end
      if not shown and text == pause.expect then
        shown = h.now()
      end
    end))
    h.wait('ghost text ' .. pause.expect, function()
      return shown
    end, 3000)
    timer:stop()
    timer:close()
    local request = nil
    for _, t in ipairs(sent) do
      if t >= key and (not shown or t <= shown) then
        request = t
      end
    end
    table.insert(pauses, {
      kind = pause.kind,
      expect = pause.expect,
      key = key,
      ghost = shown or vim.NIL,
      sent = request or vim.NIL,
      seen = seen,
    })
    h.sleep(input.read_ms) -- reads it, then types on
  end
  h.observe('pauses', pauses)
  h.observe('native', require('deepseek.config').use_native())
  h.observe('lines', h.lines())
end
