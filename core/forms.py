from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from core.models import Role
from core.money import MoneyError, parse_yuan

ROLE_LABELS = {
    Role.DONOR: _l("Donor"),
    Role.CASEWORKER: _l("Caseworker"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.FUND_ADMIN: _l("Fund administrator"),
    Role.HOST: _l("Event host"),
    Role.ADMIN: _l("Platform administrator"),
}


class RolesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in"))
    next = HiddenField()


class NewPasswordForm(FlaskForm):
    """A new password, typed twice."""

    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(
        _l("New password again"), validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))]
    )


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])


class UserRolesForm(FlaskForm):
    roles = RolesField(_l("Roles"), choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()])
    active = BooleanField(_l("Account active"))


class NewUserForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(min=8, max=200)])
    roles = RolesField(_l("Roles"), choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()])


class YuanField(StringField):
    """A money amount typed in yuan, kept as integer fen in .fen."""

    fen: int | None = None

    def pre_validate(self, form):
        self.fen = None
        if not self.data:
            return
        try:
            self.fen = parse_yuan(self.data)
        except MoneyError:
            raise ValidationError(_l("Give an amount in yuan, like 120 or 89.50.")) from None


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""
