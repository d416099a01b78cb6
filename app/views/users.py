"""Staff logins (admins): create, change role and campuses, disable, reset passwords; everyone's own API tokens."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from app.extensions import db
from app.models import ApiToken, Role, User, Via
from app.services import users as user_service
from app.web import can, committing, form_errors, permission_required, render, see_other, submit
from app.web.loaders import visible_campuses

bp = Blueprint("users", __name__)

ROLE_CHOICES = [SelectChoice(r.value, r.value) for r in Role]


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    # A shape check only: district mail domains can be anything, including internal ones.
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter an email."), Regexp(r"^[^@\s]+@[^@\s]+$", message="Enter an email address.")],
    )
    name = StringField("Name", validators=[Optional(), Length(max=160)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    campuses = CheckboxesField("Campuses")
    password = PasswordField("Password", validators=[Optional(), Length(min=user_service.MIN_PASSWORD)])
    api_tokens = BooleanField("May create API tokens")

    def fill_choices(self) -> None:
        self.campuses.choices = [SelectChoice(c.code, c.name) for c in visible_campuses()]


def get_user_or_404(user_id: int) -> User:
    """A user the signed-in admin may manage; 404 for anyone else (no hint that they exist)."""
    user = db.session.get(User, user_id)
    if user is None or not user_service.can_manage(current_user, user):
        abort(404)
    return user


@bp.get("/users")
@permission_required("users.manage")
def index():
    users = [
        u for u in db.session.scalars(sa.select(User).order_by(User.email)) if user_service.can_manage(current_user, u)
    ]
    return render("users/index.html", users=users)


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("users.manage")
def new():
    form = UserForm()
    form.fill_choices()
    if request.method == "POST":

        def create() -> User:
            user = user_service.create_user(
                form.email.data,
                role=Role(form.role.data),
                campus_codes=form.campuses.data or [],
                name=form.name.data or "",
                password=form.password.data or None,
                by=current_user,
                via=Via.web,
            )
            user_service.allow_api_tokens(user, bool(form.api_tokens.data), by=current_user, via=Via.web)
            return user

        ok, user = submit(form, create)
        if ok:
            flash(f"Created {user.email}.")
            return see_other(url_for("users.index"))
        return render("users/form.html", form=form, user=None, errors=form_errors(form), status=422)
    return render("users/form.html", form=form, user=None, errors={})


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required("users.manage")
def edit(user_id: int):
    user = get_user_or_404(user_id)
    form = UserForm(
        data={
            "email": user.email,
            "name": user.name,
            "role": user.role.value if user.role else None,
            "campuses": [c.code for c in user.campuses],
            "api_tokens": user.api_tokens_allowed,
        }
    )
    form.fill_choices()
    if user.role is None:
        # Waiting for a role (a first single sign-on): no role is preselected, so saving never grants one unseen.
        form.role.choices = [SelectChoice("", "Choose a role"), *ROLE_CHOICES]
    if request.method == "POST":
        form.email.data = user.email  # the email is the login; it is not edited here

        def save() -> None:
            if not form.role.data:
                raise user_service.Invalid("Choose a role.", field="role")
            user_service.update_user(
                user,
                role=Role(form.role.data),
                campus_codes=form.campuses.data or [],
                name=form.name.data or "",
                by=current_user,
                via=Via.web,
            )
            if form.password.data:
                user_service.change_password(user, form.password.data, by=current_user, via=Via.web)
            user_service.allow_api_tokens(user, bool(form.api_tokens.data), by=current_user, via=Via.web)

        ok, _ = submit(form, save)
        if ok:
            flash(f"Saved {user.email}.")
            return see_other(url_for("users.index"))
        return render("users/form.html", form=form, user=user, errors=form_errors(form), status=422)
    return render("users/form.html", form=form, user=user, errors={})


@bp.post("/users/<int:user_id>/active")
@permission_required("users.manage")
def set_active(user_id: int):
    user = get_user_or_404(user_id)
    if user.id == current_user.id:
        abort(422, "You cannot disable your own login.")
    with committing() as outcome:
        user_service.set_active(user, request.form.get("active") == "1", by=current_user, via=Via.web)
    if outcome.refused:
        abort(422, outcome.message)
    users = [user]
    return render("users/index.html", "users/_row.html", users=users, u=user)


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    raw = None
    errors = {}
    may_create = can("tokens.create")
    if request.method == "POST":
        if not may_create:
            abort(403)
        name = request.form.get("name", "").strip()
        if not name:
            errors["name"] = "Say what the token is for."
        else:
            with committing() as outcome:
                raw = user_service.issue_token(current_user, name=name[:80], by=current_user, via=Via.web)
            if outcome.refused:
                errors["name"] = outcome.message
    mine = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render(
        "users/tokens.html", tokens=mine, raw=raw, errors=errors, may_create=may_create, status=422 if errors else 200
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    with committing() as outcome:
        user_service.revoke_token(token, by=current_user, via=Via.web)
    if outcome.refused:
        abort(422, outcome.message)
    return see_other(url_for("users.tokens"))
