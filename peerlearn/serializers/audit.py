"""An entry of the audit log as admins read it."""


def audit_json(entry):
    return {
        "id": entry.id,
        "actor": {"id": entry.actor.id, "name": entry.actor.name, "email": entry.actor.email}
        if entry.actor
        else None,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "details": entry.details,
        "ip_address": entry.ip_address,
        "user_agent": entry.user_agent,
        "created_at": entry.created_at.isoformat() if entry.created_at else None,
    }
