from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateTimeLocalField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from core.forms import YuanField


class EventForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(min=2, max=100)])
    slug = StringField(
        _l("Address"),
        description=_l("Lower-case letters, digits and hyphens; the board is at /events/<address>/board."),
        validators=[DataRequired(), Length(max=60)],
    )
    starts_at = DateTimeLocalField(_l("Starts at"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    venue = StringField(_l("Venue"), validators=[DataRequired(), Length(min=2, max=120)])
    fund = SelectField(_l("Fund"), choices=[], validators=[Optional()])
    campaign = SelectField(
        _l("Campaign for online gifts"),
        description=_l("Gifts made online to this campaign during the event add to the board's total."),
        choices=[],
        validators=[Optional()],
    )


class AttendeeForm(FlaskForm):
    paddle = StringField(_l("Paddle number"), validators=[DataRequired(), Length(max=4)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)])
    organisation = StringField(_l("Organisation"), validators=[Optional(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[DataRequired(), Length(max=32)])


class ImportForm(FlaskForm):
    file = FileField(_l("Sheet (CSV or XLSX: paddle, name, organisation, phone)"))


class PaddleClaimForm(FlaskForm):
    wish = HiddenField(validators=[DataRequired()])
    paddles = StringField(
        _l("Paddle numbers"),
        description=_l("The first paddle claims; any others are backups, in order."),
        validators=[DataRequired(), Length(max=60)],
    )
    key = HiddenField()


class PledgeForm(FlaskForm):
    amount = YuanField(_l("Amount (yuan)"), validators=[InputRequired()])
    paddle = StringField(_l("Paddle number (optional)"), validators=[Optional(), Length(max=4)])


class RoomClaimForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=60)])
    contact = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=254)])
    key = HiddenField()
