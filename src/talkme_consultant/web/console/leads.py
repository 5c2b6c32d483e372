"""Leads: who left a phone number, what they wanted, and where the owner is with them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from talkme_consultant.store.leads import LeadStatus
from talkme_consultant.web.console.base import (
    SignedIn,
    SignedInWithCsrf,
    local_time,
    pagination,
    render,
)
from talkme_consultant.web.csv_export import csv_response
from talkme_consultant.web.deps import ProfileDep, StoreDep

router = APIRouter(prefix="/console/leads", include_in_schema=False)

PAGE_SIZE = 50
MAX_EXPORT_ROWS = 50_000
STATUS_LABELS = {
    LeadStatus.NEW: "новый",
    LeadStatus.BOOKED: "записан",
    LeadStatus.CALLED: "позвонили",
    LeadStatus.DONE: "готово",
}


@router.get("", response_class=HTMLResponse)
async def leads_page(
    request: Request,
    session: SignedIn,
    store: StoreDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    status: LeadStatus | None = None,
) -> HTMLResponse:
    """Leads, newest first (the owner sees the whole phone: calling back is the point)."""
    leads = store.leads
    total = await leads.count(status)
    rows = await leads.page(offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, status=status)
    return render(
        request,
        session,
        "leads.html",
        {
            "rows": rows,
            **pagination(total, page, PAGE_SIZE),
            "status": status,
            "labels": STATUS_LABELS,
        },
        page="leads",
    )


@router.post("/{lead_id}/status")
async def set_status(
    store: StoreDep,
    lead_id: int,
    status: Annotated[LeadStatus, Form()],
    _: SignedInWithCsrf,
) -> Response:
    """Move a lead to new / called / done."""
    if not await store.leads.set_status(lead_id, status):
        raise HTTPException(status_code=404, detail="Такого лида нет.")
    return RedirectResponse("/console/leads", status_code=303)


@router.get("/export.csv")
async def export_csv(store: StoreDep, profile: ProfileDep, _: SignedIn) -> Response:
    """Every lead as CSV: the visitor's words (name, interest, summary) as text, never formulas
    (web/csv_export.py)."""
    zone = profile.zone()
    rows = await store.leads.page(offset=0, limit=MAX_EXPORT_ROWS)
    return csv_response(
        ["id", "created", "name", "phone", "interest", "summary", "status", "conversation"],
        [
            [
                lead.id,
                local_time(lead.created_at, zone),
                lead.name or "",
                lead.phone,
                lead.interest or "",
                lead.summary or "",
                lead.status,
                lead.conversation_key,
            ]
            for lead in rows
        ],
        "leads.csv",
    )
