from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from reminders.models import CONTACT_KIND_LABELS

LANGUAGE_CHOICES = [SelectChoice("zh_CN", "中文"), SelectChoice("en", "English")]


class ReminderDaysForm(FlaskForm):
    days = StringField(
        _l("Remind donors this many days before the due date"),
        validators=[InputRequired(), Length(max=40)],
        description=_l("Comma-separated, e.g. 7, 2, 0 (0 is the due date itself)."),
    )


class FundPolicyForm(FlaskForm):
    propose_purchase = BooleanField(_l("Propose an overdue gift to the fund administrator as a purchase"))


class PairingDayForm(FlaskForm):
    day = IntegerField(
        _l("Day of the month to remind volunteers without a contact"),
        validators=[InputRequired(), NumberRange(min=1, max=28)],
    )


class PairingForm(FlaskForm):
    child = SelectField(_l("Child"), coerce=int, validators=[InputRequired()])
    volunteer_name = StringField(_l("Volunteer's name"), validators=[InputRequired(), Length(max=60)])
    volunteer_contact = StringField(
        _l("Volunteer's mobile number or e-mail"), validators=[InputRequired(), Length(max=254)]
    )
    volunteer_locale = SelectField(_l("Language of the volunteer's messages"), choices=LANGUAGE_CHOICES)
    start_date = DateField(_l("Start date"), validators=[InputRequired()])


class ContactForm(FlaskForm):
    kind = RadioField(
        _l("What happened"),
        choices=[SelectChoice(k.value, label) for k, label in CONTACT_KIND_LABELS.items()],
        default="call",
        validators=[InputRequired()],
    )
    happened_on = DateField(_l("Date"), validators=[InputRequired()])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=1000)])


class DeliveredForm(FlaskForm):
    note = TextAreaField(_l("A word about the delivery (optional)"), validators=[Optional(), Length(max=1000)])


class MailPreferencesForm(FlaskForm):
    locale = SelectField(_l("Language of our messages"), choices=LANGUAGE_CHOICES)
    subscribed = BooleanField(_l("Send me digests and reminders that are not about my own claims"))
