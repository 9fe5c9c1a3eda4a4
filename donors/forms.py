from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from donors.models import DONOR_KIND_LABELS


class RegisterForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=60)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    kind = SelectField(_l("I give as"), choices=[SelectChoice(k.value, v) for k, v in DONOR_KIND_LABELS.items()])
    public_name = StringField(
        _l("Name to show publicly (optional)"),
        description=_l("e.g. a company name or “张先生 & 李女士”."),
        validators=[Optional(), Length(max=30)],
    )


class ConfirmRegistrationForm(FlaskForm):
    """The password is chosen on the page the e-mailed link opens, so the link never carries it."""

    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(
        _l("Password again"), validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))]
    )
