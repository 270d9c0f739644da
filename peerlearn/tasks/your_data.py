"""Your data jobs: building a requested export (``services.your_data.build_export``), on the
``default`` queue, inline in the embedded mode. It takes the export's id and is safe to run twice:
only a queued export is built."""

from ..services import your_data


def build_export(export_id):
    return your_data.build_export(export_id)


def remove_expired_exports():
    return your_data.remove_expired_exports()
