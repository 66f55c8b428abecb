-- wrk script of the Latchkey load harness (go run ./bench).
--
-- wrk -s load.lua URL -- MODE TOKENS_FILE EXPECT SALT [CALLER_FILE]
--
-- Each request carries the next token of TOKENS_FILE (one per line, already
-- shuffled); each thread starts at its own offset, so requests spread over
-- every token in the file. MODE shapes the request:
--   verify      GET /auth/verify with X-Original-Method/-URI (forward auth)
--   flood       verify, each request from its own client address (the
--               X-Forwarded-For the trusted proxy 127.0.0.1 passes on), so
--               the per-address failure limit does not answer for the
--               negative cache: a flood from many addresses
--   me          GET /api/v1/me
--   introspect  POST /oauth2/introspect, token=<t>, as the caller token
--   create      POST /api/v1/tokens with a unique name (SALT keeps names of
--               successive runs apart), as the token
--   floor       GET with the bearer token only
-- EXPECT is the status every answer must have. Answers with another status
-- are counted per thread and reported by done() as one JSON line.

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local function read_lines(path)
  local t = {}
  for line in io.lines(path) do
    if line ~= "" then t[#t + 1] = line end
  end
  return t
end

function init(args)
  mode = args[1]
  tokens = read_lines(args[2])
  expect = tonumber(args[3])
  salt = args[4]
  if args[5] then caller = read_lines(args[5])[1] end
  n = #tokens
  -- id is set by setup(); threads start spread over the list.
  pos = ((id - 1) * 7919) % n
  created = 0
  unexpected = 0
  -- Defining response() makes wrk parse every answer: do it only to count
  -- statuses other than the expected one (wrk itself counts >= 400).
  if expect < 200 or expect > 299 then
    function response(status, headers, body)
      if status ~= expect then unexpected = unexpected + 1 end
    end
  end
end

local function next_token()
  pos = pos % n + 1
  return tokens[pos]
end

function request()
  local t = next_token()
  if mode == "verify" then
    return wrk.format("GET", "/auth/verify", {
      ["Authorization"] = "Bearer " .. t,
      ["X-Original-Method"] = "GET",
      ["X-Original-URI"] = "/repos/acme/web",
    })
  elseif mode == "flood" then
    sent = (sent or 0) + 1
    return wrk.format("GET", "/auth/verify", {
      ["Authorization"] = "Bearer " .. t,
      ["X-Original-Method"] = "GET",
      ["X-Original-URI"] = "/repos/acme/web",
      ["X-Forwarded-For"] = string.format("10.%d.%d.%d", id % 256, math.floor(sent / 256) % 256, sent % 256),
    })
  elseif mode == "me" then
    return wrk.format("GET", "/api/v1/me", { ["Authorization"] = "Bearer " .. t })
  elseif mode == "introspect" then
    return wrk.format("POST", "/oauth2/introspect", {
      ["Authorization"] = "Bearer " .. caller,
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }, "token=" .. t)
  elseif mode == "create" then
    created = created + 1
    local body = string.format('{"name":"load-%s-%d-%d","scopes":["repo"],"expires_in":"720h"}', salt, id, created)
    return wrk.format("POST", "/api/v1/tokens", {
      ["Authorization"] = "Bearer " .. t,
      ["Content-Type"] = "application/json",
    }, body)
  end
  return wrk.format("GET", "/", { ["Authorization"] = "Bearer " .. t })
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("unexpected") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"status_errors":%d,"unexpected":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.status, bad, e.connect, e.read, e.write, e.timeout))
end
