"""A :class:`~.pacestore.PaceStore` on Redis: every worker of a deployment paces the account's calls as one.

The Redis a Celery deployment already runs (or any other) holds one hash per account: the rate, its ceiling, the
next free send slot, whether a stated quota window is spent, and per-second send counts. Each operation is one Lua
script, so it is atomic across workers, and it keeps time by the Redis server's clock, so workers on machines whose
clocks differ still space their calls on one timeline. The hash expires after an idle hour.

Opt in with the connection extra ``shared_pacer``: a ``redis://``/``rediss://``/``unix://`` URL, or the id of an
Airflow Redis connection. Without it every process paces alone (:class:`~.pacestore.LocalPaceStore`).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from .errors import ConfigurationError
from .pacestore import MAX_RATE, MIN_RATE, PaceState

IDLE_SECONDS = 3600  # the shared state is forgotten after an hour without calls
KEY_PREFIX = "vlocr:pace:"

# ARGV: op, initial rate, min rate, max rate, ttl, a, b, c.
# Returns {rate, ceiling or "", spent, sent_rate, result, cuts, found or "", found_age or "", frozen, ok_rate}.
# Numbers go back as strings: Redis would truncate Lua numbers to integers.
_SCRIPT = """
local key = KEYS[1]
local op, initial, min_rate, max_rate, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
  tonumber(ARGV[5])
local a, b = tonumber(ARGV[6]), tonumber(ARGV[7])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local h = redis.call('HMGET', key, 'rate', 'ceiling', 'next', 'spent', 'last_decrease', 'sec', 'this_sec',
  'last_sec', 'cuts', 'found', 'found_at', 'frozen_until', 'born', 'seq')
local ceiling = tonumber(h[2])
local function clamp(r)
  local top = max_rate
  if ceiling and ceiling < top then top = ceiling end
  if r > top then r = top end
  if r < min_rate then r = min_rate end
  return r
end
local rate = clamp(tonumber(h[1]) or initial)
local nxt = tonumber(h[3]) or 0
local spent = tonumber(h[4]) or 0
local last_decrease = tonumber(h[5]) or -1e18
local sec, this_sec, last_sec = tonumber(h[6]) or 0, tonumber(h[7]) or 0, tonumber(h[8]) or 0
local cuts, found, found_at = tonumber(h[9]) or 0, tonumber(h[10]), tonumber(h[11])
local frozen_until = tonumber(h[12]) or 0
local born, seq = tonumber(h[13]) or now, tonumber(h[14]) or 0
local oks_key = key .. ':oks'
local result = 0
local second = math.floor(now)
if op == 'reserve' then
  local interval = 1 / rate
  if spent == 1 and a > interval then interval = a end
  local slot = math.max(now, nxt)
  nxt = slot + interval
  result = slot - now
  if second ~= sec then
    if second == sec + 1 then last_sec = this_sec else last_sec = 0 end
    this_sec, sec = 0, second
  end
  this_sec = this_sec + 1
elseif op == 'scale' then
  rate = clamp(rate * a)
  frozen_until = 0
elseif op == 'lower' then
  if now - last_decrease >= b then
    last_decrease = now
    cuts = cuts + 1
    rate = clamp(math.min(rate, a))
    frozen_until = now + tonumber(ARGV[8])
    result = 1
  end
elseif op == 'found' then
  if a > 0 then found, found_at = a, now else found, found_at = nil, nil end
  frozen_until = 0
elseif op == 'add' then
  seq = seq + 1
  redis.call('ZADD', oks_key, now, seq)
  if now >= frozen_until then
    local target = rate + a
    local most = math.max(b, rate)
    if target > most then target = most end
    rate = clamp(target)
  end
elseif op == 'cap' then
  if (not ceiling) or a < ceiling then ceiling = a end
  rate = clamp(rate)
elseif op == 'spend' then
  spent = 1
  nxt = math.max(nxt, now + a)
elseif op == 'reopen' then
  spent = 0
end
local fields = {'rate', tostring(rate), 'next', tostring(nxt), 'spent', tostring(spent), 'last_decrease',
  tostring(last_decrease), 'sec', tostring(sec), 'this_sec', tostring(this_sec), 'last_sec', tostring(last_sec),
  'cuts', tostring(cuts), 'frozen_until', tostring(frozen_until), 'born', tostring(born), 'seq', tostring(seq)}
if ceiling then
  table.insert(fields, 'ceiling'); table.insert(fields, tostring(ceiling))
end
if found then
  table.insert(fields, 'found'); table.insert(fields, tostring(found))
  table.insert(fields, 'found_at'); table.insert(fields, tostring(found_at))
else
  redis.call('HDEL', key, 'found', 'found_at')
end
redis.call('HSET', key, unpack(fields))
redis.call('EXPIRE', key, ttl)
redis.call('ZREMRANGEBYSCORE', oks_key, '-inf', now - 1)
local oks = redis.call('ZCARD', oks_key) / math.min(1, math.max(now - born, 0.05))
redis.call('EXPIRE', oks_key, ttl)
local sent = 0
if second == sec then sent = last_sec elseif second == sec + 1 then sent = this_sec end
local shown, found_shown, age, frozen = '', '', '', '0'
if ceiling then shown = tostring(ceiling) end
if found then found_shown, age = tostring(found), tostring(now - found_at) end
if now < frozen_until then frozen = '1' end
return {tostring(rate), shown, tostring(spent), tostring(sent), tostring(result), tostring(cuts), found_shown, age,
  frozen, tostring(oks)}
"""


def account_key(*parts: str | None) -> str:
    """The Redis key of an account's pacing state: a digest of what identifies the account (endpoint, project or
    region, and the AK or IAM user), so that no identifier is stored in clear."""
    digest = hashlib.sha256("\x1f".join(part or "" for part in parts).encode("utf-8")).hexdigest()
    return KEY_PREFIX + digest[:24]


class RedisPaceStore:
    """The pacing state of an account in Redis, shared by every process that uses the same key."""

    def __init__(self, client: Any, key: str, *, rate: float, ttl: int = IDLE_SECONDS) -> None:
        self._client = client
        self._key = key
        self._initial = rate
        self._ttl = ttl
        self._script = client.register_script(_SCRIPT)

    @classmethod
    def from_url(cls, url: str, key: str, *, rate: float) -> RedisPaceStore:
        """A store on the Redis at ``url`` (redis-py; it connects on first use)."""
        try:
            import redis
        except ImportError:  # pragma: no cover - the extra is documented
            raise ConfigurationError(
                "shared_pacer needs redis-py: pip install 'airflow-provider-vlocr[redis]'"
            ) from None
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)
        return cls(client, key, rate=rate)

    def _run(self, op: str, a: float = 0.0, b: float = 0.0, c: float = 0.0) -> tuple[PaceState, float]:
        args = [op, self._initial, MIN_RATE, MAX_RATE, self._ttl, _number(a), _number(b), _number(c)]
        reply = self._script(keys=[self._key], args=args)
        rate, ceiling, spent, sent, result, cuts, found, age, frozen, oks = reply
        state = PaceState(
            float(rate),
            float(ceiling) if ceiling else None,
            spent in (b"1", "1"),
            float(sent),
            int(float(cuts)),
            float(found) if found else None,
            float(age) if age else math.inf,
            frozen in (b"1", "1"),
            float(oks),
        )
        return state, float(result)

    def reserve(self, probe_seconds: float) -> tuple[float, PaceState]:
        state, wait = self._run("reserve", probe_seconds)
        return wait, state

    def state(self) -> PaceState:
        return self._run("state")[0]

    def scale(self, factor: float) -> PaceState:
        return self._run("scale", factor)[0]

    def lower(self, target: float, *, once_per: float, freeze: float = 0.0) -> tuple[bool, PaceState]:
        state, applied = self._run("lower", target, once_per, freeze)
        return applied == 1.0, state

    def found(self, limit: float) -> PaceState:
        return self._run("found", limit)[0]

    def add(self, delta: float, *, limit: float = math.inf) -> PaceState:
        return self._run("add", delta, limit)[0]

    def cap(self, ceiling: float) -> PaceState:
        return self._run("cap", ceiling)[0]

    def spend(self, probe_seconds: float) -> PaceState:
        return self._run("spend", probe_seconds)[0]

    def reopen(self) -> PaceState:
        return self._run("reopen")[0]


def _number(value: float) -> float:
    """Lua's tonumber reads no 'inf': the largest float stands for it."""
    return min(value, 1e300)
