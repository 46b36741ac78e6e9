"""requests_loop.py — N rounds of attach, update, detach with one Python
requests Session (Debian's python3-requests), for spec/bench/compare.sh."""
import os
import sys

import requests

base, ca, token, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = requests.Session()
s.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides verify
s.verify = ca
s.headers.update({"Authorization": "Bearer " + token, "Accept": "application/json"})
hook = {"id": "550e8400-e29b-41d4-a716-446655440000", "token": "Zq3Kx8NwLp2Rt6Vy9Bc4Df7Gh1Jk5Mn0Pq8St2Uv"}
for _ in range(n):
    r = s.post(base + "/c9Xk2/webhooks/attach",
               json={"name": "bench", "url": "https://bench.example/hook", "events": ["lead-created", "lead-updated"]})
    r.raise_for_status()
    r.json()
    s.patch(base + "/c9Xk2/webhooks/update", json=dict(hook, url="https://bench.example/v2")).raise_for_status()
    s.delete(base + "/c9Xk2/webhooks/detach", json=hook).raise_for_status()
