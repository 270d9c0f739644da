"""Reading a content security policy in tests: the policy's directives, and a remote Janus whose
origins a policy may name."""

JANUS = {"name": "j1", "api": "http://10.0.0.5:8088/janus", "admin": "http://10.0.0.5:7088/admin"}


def directives(policy):
    """{directive: [sources]} of a policy string."""
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} appears twice"
        parsed[name] = sources
    return parsed
