"""The formats page: every member sees the practice's note formats and chooses their own default; owners and
admins create, edit, reorder, retire and delete the practice's own, starting blank, from a copy or from an
example note."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.entitlements import PlanLimitExceeded
from accounts.models import Membership
from accounts.tenancy import current_membership
from formats.builtin import BUILTIN_TEMPLATES, FormatLength, TemplateSpec
from formats.catalogue import default_note_type, get_template, note_type_choices, practice_formats, spec_from_row
from formats.examples import NoHeadingsFound, propose_format_from_example
from formats.forms import (
    DefaultFormatForm,
    ExampleForm,
    FormatForm,
    SectionFormSet,
    kept_sections,
    section_initial,
)
from formats.models import NoteTemplate
from formats.services import (
    FormatInvalid,
    Removal,
    format_create,
    format_delete,
    format_move,
    format_restore,
    format_retire,
    format_update,
    member_default_format_set,
)
from formats.validation import key_from_text

SECTIONS_PREFIX = "sections"


def _member(request: HttpRequest) -> Membership:
    membership = current_membership(request.user)
    if membership is None:
        raise PermissionDenied("Your account is not a member of any practice yet.")
    return membership


def _manager(request: HttpRequest) -> Membership:
    membership = _member(request)
    if not membership.sees_whole_practice:
        raise PermissionDenied("Only the practice's owners and admins change its formats.")
    return membership


def _managed_format(request: HttpRequest, pk: Any) -> tuple[Membership, NoteTemplate]:
    """Another practice's format is a 404 for everyone; for a clinician of this practice, changing one is a 403."""
    template = get_object_or_404(NoteTemplate.objects.visible_to(request.user).select_related("practice"), pk=pk)
    membership = _manager(request)
    if template.practice_id != membership.practice_id:
        raise PermissionDenied("Formats are changed from the practice you work in.")
    return membership, template


def _list_context(membership: Membership) -> dict[str, Any]:
    formats = practice_formats(membership.practice, include_retired=True)
    return {
        "practice": membership.practice,
        "builtins": list(BUILTIN_TEMPLATES.values()),
        "active_formats": [row for row in formats if row.retired_at is None],
        "retired_formats": [row for row in formats if row.retired_at is not None],
        "can_manage": membership.sees_whole_practice,
        "default_form": DefaultFormatForm(
            initial={"default_note_type": membership.default_note_type},
            choices=note_type_choices(membership.practice),
        ),
        "current_default": default_note_type(membership),
        "example_form": ExampleForm(),
        "lengths": dict(FormatLength.choices),
    }


@never_cache
@require_http_methods(["GET"])
def format_list(request: HttpRequest) -> HttpResponse:
    membership = _member(request)
    return render(request, "formats/list.html", _list_context(membership))


def _render_editor(
    request: HttpRequest,
    *,
    form: FormatForm,
    formset: Any,
    template: NoteTemplate | None = None,
    proposed: bool = False,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "formset": formset,
        "template": template,
        "creating": template is None,
        "proposed": proposed,
        "sections_prefix": SECTIONS_PREFIX,
    }
    return render(request, "formats/edit.html", context, status=status)


def _rows_posted(data: Any) -> list[dict[str, Any]]:
    """The section rows as posted, in their chosen order, without the removed ones (no validation)."""
    try:
        total = min(int(data.get(f"{SECTIONS_PREFIX}-TOTAL_FORMS", "0")), SectionFormSet.absolute_max)
    except ValueError:
        total = 0
    rows: list[dict[str, Any]] = []
    for index in range(max(total, 0)):
        field = f"{SECTIONS_PREFIX}-{index}-"
        if data.get(f"{field}DELETE"):
            continue
        try:
            order = int(data.get(f"{field}ORDER", ""))
        except ValueError:
            order = index + 1
        rows.append(
            {
                "key": str(data.get(f"{field}key", ""))[:64],
                "heading": str(data.get(f"{field}heading", "")),
                "instruction": str(data.get(f"{field}instruction", "")),
                "ORDER": order,
            }
        )
    rows.sort(key=lambda row: int(row["ORDER"]))
    return [{**row, "ORDER": n} for n, row in enumerate(rows, start=1)]


def _editor_with_added_section(request: HttpRequest, *, template: NoteTemplate | None) -> HttpResponse:
    """The no-JavaScript way to add a section: the editor again, as posted, with one more empty row. Nothing
    is validated or saved yet, so nothing is shown as an error."""
    rows = _rows_posted(request.POST)
    if len(rows) < SectionFormSet.max_num:
        rows.append({"key": "", "heading": "", "instruction": "", "ORDER": len(rows) + 1})
    initial = {name: request.POST.get(name, "") for name in ("name", "key", "length")}
    form = FormatForm(initial=initial, creating=template is None)
    formset = SectionFormSet(prefix=SECTIONS_PREFIX, initial=rows)
    return _render_editor(request, form=form, formset=formset, template=template)


def _apply_service_errors(form: FormatForm, kept: list[Any], formset: Any, errors: dict[str, list[str]]) -> None:
    for field, field_messages in errors.items():
        parts = field.split(".")
        if parts[0] == "sections" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(kept):
            for message in field_messages:
                kept[int(parts[1])].add_error(parts[2] if parts[2] in ("heading", "instruction") else None, message)
        elif parts[0] == "sections":
            formset._non_form_errors = formset.non_form_errors() + field_messages
        elif field in form.fields:
            for message in field_messages:
                form.add_error(field, message)
        else:
            for message in field_messages:
                form.add_error(None, message)


def _starting_point(membership: Membership, key: str) -> TemplateSpec | None:
    if not key:
        return None
    return get_template(membership.practice, key)


@never_cache
@require_http_methods(["GET", "POST"])
def format_create_view(request: HttpRequest) -> HttpResponse:
    membership = _manager(request)
    if request.method == "GET":
        source = _starting_point(membership, str(request.GET.get("from", ""))[:64])
        initial: dict[str, Any] = {"length": FormatLength.STANDARD}
        if source is not None:
            initial = {"name": f"{source.name} (copy)"[:100], "length": source.length}
        form = FormatForm(initial=initial, creating=True)
        formset = SectionFormSet(prefix=SECTIONS_PREFIX, initial=section_initial(source))
        return _render_editor(request, form=form, formset=formset)
    if "add_section" in request.POST:
        return _editor_with_added_section(request, template=None)
    form = FormatForm(request.POST, creating=True)
    formset = SectionFormSet(request.POST, prefix=SECTIONS_PREFIX)
    if form.is_valid() and formset.is_valid():
        kept, sections = kept_sections(formset)
        key = form.cleaned_data["key"] or _derived_key(membership, form.cleaned_data["name"])
        try:
            template = format_create(
                practice=membership.practice,
                key=key,
                name=form.cleaned_data["name"],
                length=form.cleaned_data["length"],
                sections=sections,
            )
        except FormatInvalid as invalid:
            _apply_service_errors(form, kept, formset, invalid.errors)
        except PlanLimitExceeded as refused:
            # Kept as typed; the editor says why and an owner can upgrade (billing page).
            form.add_error(None, f"{refused.message} An owner can upgrade the plan on the billing page.")
            return _render_editor(request, form=form, formset=formset, status=402)
        else:
            messages.success(request, f"The format “{template.name}” was saved; clinicians can choose it now.")
            return redirect("formats:list")
    return _render_editor(request, form=form, formset=formset, status=400)


def _derived_key(membership: Membership, name: str) -> str:
    taken = set(NoteTemplate.objects.filter(practice=membership.practice).values_list("key", flat=True))
    taken |= set(BUILTIN_TEMPLATES)
    return key_from_text(name, taken=taken, separator="-", fallback="format")


@never_cache
@require_http_methods(["POST"])
def format_from_example(request: HttpRequest) -> HttpResponse:
    """The editor, filled with the format proposed from a pasted example; nothing is saved here."""
    membership = _manager(request)
    example_form = ExampleForm(request.POST)
    if example_form.is_valid():
        try:
            proposal = propose_format_from_example(example_form.cleaned_data["example"])
        except NoHeadingsFound as error:
            example_form.add_error("example", str(error))
        else:
            spec = TemplateSpec(key="", name="", sections=proposal.sections, length=proposal.length)
            form = FormatForm(initial={"name": proposal.name, "length": proposal.length}, creating=True)
            formset = SectionFormSet(prefix=SECTIONS_PREFIX, initial=section_initial(spec))
            return _render_editor(request, form=form, formset=formset, proposed=True)
    context = _list_context(membership)
    context["example_form"] = example_form
    return render(request, "formats/list.html", context, status=400)


@never_cache
@require_http_methods(["GET", "POST"])
def format_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    _, template = _managed_format(request, pk)
    if request.method == "GET":
        form = FormatForm(initial={"name": template.name, "length": template.length}, creating=False)
        formset = SectionFormSet(prefix=SECTIONS_PREFIX, initial=section_initial(spec_from_row(template)))
        return _render_editor(request, form=form, formset=formset, template=template)
    if "add_section" in request.POST:
        return _editor_with_added_section(request, template=template)
    form = FormatForm(request.POST, creating=False)
    formset = SectionFormSet(request.POST, prefix=SECTIONS_PREFIX)
    if form.is_valid() and formset.is_valid():
        kept, sections = kept_sections(formset)
        try:
            format_update(
                template=template, name=form.cleaned_data["name"], length=form.cleaned_data["length"], sections=sections
            )
        except FormatInvalid as invalid:
            _apply_service_errors(form, kept, formset, invalid.errors)
        else:
            messages.success(request, f"The format “{template.name}” was saved. Notes already written keep theirs.")
            return redirect("formats:list")
    return _render_editor(request, form=form, formset=formset, template=template, status=400)


@require_http_methods(["POST"])
def format_retire_view(request: HttpRequest, pk: Any) -> HttpResponse:
    _, template = _managed_format(request, pk)
    if format_retire(template=template):
        messages.success(
            request, f"“{template.name}” is retired: not offered for new sessions; existing notes keep it."
        )
    return redirect("formats:list")


@require_http_methods(["POST"])
def format_restore_view(request: HttpRequest, pk: Any) -> HttpResponse:
    _, template = _managed_format(request, pk)
    if format_restore(template=template):
        messages.success(request, f"“{template.name}” is offered for new sessions again.")
    return redirect("formats:list")


@require_http_methods(["POST"])
def format_delete_view(request: HttpRequest, pk: Any) -> HttpResponse:
    _, template = _managed_format(request, pk)
    name = template.name
    if format_delete(template=template) == Removal.DELETED:
        messages.success(request, f"“{name}” was deleted.")
    else:
        messages.info(request, f"“{name}” is used by existing sessions or notes, so it stays, retired.")
    return redirect("formats:list")


@require_http_methods(["POST"])
def format_move_view(request: HttpRequest, pk: Any) -> HttpResponse:
    _, template = _managed_format(request, pk)
    offset = {"up": -1, "down": 1}.get(str(request.POST.get("direction", "")))
    if offset is None:
        return HttpResponse("Say which way to move the format: up or down.", status=400, content_type="text/plain")
    format_move(template=template, offset=offset)
    return redirect("formats:list")


@require_http_methods(["POST"])
def format_default(request: HttpRequest) -> HttpResponse:
    membership = _member(request)
    form = DefaultFormatForm(request.POST, choices=note_type_choices(membership.practice))
    if form.is_valid():
        try:
            member_default_format_set(membership=membership, key=form.cleaned_data["default_note_type"])
        except FormatInvalid as invalid:
            form.add_error("default_note_type", invalid.errors["default_note_type"])
        else:
            messages.success(request, "Your default format was saved; your new sessions start with it.")
            return redirect("formats:list")
    context = _list_context(membership)
    context["default_form"] = form
    return render(request, "formats/list.html", context, status=400)
