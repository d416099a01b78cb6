"""Signing in and out, and changing one's own password."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from app.auth import user_by_email
from app.extensions import db, limiter
from app.models import Via, utcnow
from app.services import users as user_service
from app.services.errors import Invalid
from app.web import form_errors, render, safe_next

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email.")])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password.")])


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    password = PasswordField("New password", validators=[DataRequired(), Length(min=user_service.MIN_PASSWORD)])
    confirm = PasswordField("Repeat the new password", validators=[EqualTo("password", "The passwords differ.")])


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    next_url = request.args.get("next") or request.form.get("next")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(next_url))
    if request.method == "POST":
        if form.validate():
            user = user_by_email(form.email.data)
            if user and user.active and user.check_password(form.password.data):
                login_user(user)
                user.last_login_at = utcnow()
                db.session.commit()
                return redirect(safe_next(next_url))
            form.password.errors = ["That email and password do not match an active account."]
        return render("auth/login.html", form=form, next=next_url, errors=form_errors(form), status=422)
    return render("auth/login.html", form=form, next=next_url, errors={})


@bp.post("/logout")
def logout():
    logout_user()
    resp = redirect(url_for("auth.login", signed_out=1))
    # Drop cached pages of this user; storage stays, since the offline outbox may hold unsent work.
    resp.headers["Clear-Site-Data"] = '"cache"'
    return resp


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if request.method == "POST":
        if form.validate():
            if not current_user.check_password(form.current.data):
                form.current.errors = ["That is not your current password."]
            else:
                try:
                    user_service.change_password(current_user, form.password.data, by=current_user, via=Via.web)
                except Invalid as exc:
                    form.password.errors = [exc.message]
                else:
                    db.session.commit()
                    # Stay signed in here; every other session used the old token and has ended.
                    login_user(current_user._get_current_object())
                    flash("Password changed. You were signed out everywhere else.")
                    return redirect(url_for("dashboard.index"))
        return render("auth/password.html", form=form, errors=form_errors(form), status=422)
    return render("auth/password.html", form=form, errors={})
