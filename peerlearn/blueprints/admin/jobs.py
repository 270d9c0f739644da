"""The admins' failed jobs: the background jobs that used up their retries, newest first, with
their error and traceback, and a button to put one or all of them back on their queues. The admin
blueprint's guard keeps it to admins."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ...exceptions import DomainError, ValidationError
from ...limits import ADMIN_PER_PAGE
from ...services import admin as admin_service
from ...services import audit
from ...services import failed_jobs as failed_jobs_service
from ...services.pagination import Page
from . import bp


@bp.get("/jobs")
def jobs():
    errors, page, unavailable = {}, 1, None
    try:
        page = admin_service.page_number(request.args)
    except ValidationError as exc:
        errors = exc.fields
    found = Page([], 0, page, ADMIN_PER_PAGE)
    status = 422 if errors else 200
    if not errors:
        try:
            found = failed_jobs_service.find_failed(page=page, per_page=ADMIN_PER_PAGE)
        except failed_jobs_service.JobsUnavailable as exc:
            unavailable, status = exc.message, exc.status

    def page_url(number):
        return url_for("admin.jobs", page=number)

    return render_template(
        "admin/jobs.html",
        items=found.items,
        total=found.total,
        page=page,
        pages=found.pages,
        page_url=page_url,
        errors=errors,
        args=request.args,
        inline=failed_jobs_service.jobs_inline(),
        unavailable=unavailable,
    ), status


@bp.post("/jobs/<job_id>/requeue")
def requeue_job(job_id):
    try:
        job = failed_jobs_service.requeue(current_user, job_id, origin=audit.Origin.of(request))
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    else:
        flash(_("Job %(id)s is back on the %(queue)s queue.", id=job.id, queue=job.origin), "success")
    return redirect(url_for("admin.jobs"), 303)


@bp.post("/jobs/requeue-all")
def requeue_all_jobs():
    try:
        count = failed_jobs_service.requeue_all(current_user, origin=audit.Origin.of(request))
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        if count:
            flash(
                ngettext(
                    "%(num)d failed job back on their queues.",
                    "%(num)d failed jobs back on their queues.",
                    count,
                ),
                "success",
            )
        else:
            flash(_("There were no failed jobs to requeue."), "info")
    return redirect(url_for("admin.jobs"), 303)
