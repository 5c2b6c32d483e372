"""Leads: who left a phone number, what they wanted, and where the owner is with them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from talkme_consultant.store.leads import LeadStatus
from talkme_consultant.web.console.base import SignedIn, SignedInWithCsrf, pagination, render
from talkme_consultant.web.console.phone_links import whole_phone
from talkme_consultant.web.csv_export import csv_response
from talkme_consultant.web.deps import ProfileDep, StoreDep
from talkme_consultant.web.export_table import Table
from talkme_consultant.web.xlsx_export import xlsx_response

router = APIRouter(prefix="/console/leads", include_in_schema=False)

PAGE_SIZE = 50
MAX_EXPORT_ROWS = 50_000
STATUS_LABELS = {
    LeadStatus.NEW: "новый",
    LeadStatus.BOOKED: "записан",
    LeadStatus.CALLED: "позвонили",
    LeadStatus.DONE: "готово",
}
EXPORT_HEADERS = ("Создан", "Имя", "Телефон", "Интерес", "Кратко", "Статус", "Диалог")


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


@router.get("/export.{kind}")
async def export(kind: str, store: StoreDep, profile: ProfileDep, _: SignedIn) -> Response:
    """Every lead as .xlsx or CSV, for the owner to call back: phones whole, statuses and
    headers in Russian, dates as dates, the visitor's words as text, never formulas
    (web/csv_export.py, web/xlsx_export.py)."""
    if kind not in ("xlsx", "csv"):
        raise HTTPException(status_code=404, detail="Лиды выгружаются только в xlsx или csv.")
    zone = profile.zone()
    rows = await store.leads.page(offset=0, limit=MAX_EXPORT_ROWS)
    table = Table(
        name="leads",
        title="Лиды",
        headers=EXPORT_HEADERS,
        rows=[
            [
                datetime.fromtimestamp(lead.created_at, zone),
                lead.name,
                whole_phone(lead.phone),
                lead.interest,
                lead.summary,
                _status_label(lead.status),
                lead.conversation_key,
            ]
            for lead in rows
        ],
    )
    return await xlsx_response(table) if kind == "xlsx" else csv_response(table)


def _status_label(status: str) -> str:
    """The status as the leads page names it; a status this version does not know, as it is."""
    try:
        return STATUS_LABELS[LeadStatus(status)]
    except ValueError:
        return status
