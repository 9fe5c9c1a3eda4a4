from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from core.clock import local_today
from impact.models import ACTIVITY_KIND_LABELS


def kind_choices() -> list[SelectChoice]:
    return [SelectChoice(key.value, label) for key, label in ACTIVITY_KIND_LABELS.items()]


class ActivityForm(FlaskForm):
    happened_on = DateField(
        _l("Day"), default=local_today, validators=[InputRequired(message=_l("Give the day it took place."))]
    )
    kind = SelectField(_l("Kind of service"), choices=kind_choices())
    place = SelectField(
        _l("District · street · community"),
        description=_l("Where it took place, from the list of places."),
        validators=[DataRequired(message=_l("Choose a place from the list of places."))],
        validate_choice=False,
    )
    children = IntegerField(
        _l("Children reached"),
        description=_l("Different children the session reached."),
        validators=[InputRequired(message=_l("Give a whole number.")), NumberRange(min=0, max=5000)],
    )
    people = IntegerField(
        _l("People served (人次)"),
        description=_l("Everyone served, counted each time: children, guardians and others."),
        validators=[InputRequired(message=_l("Give a whole number.")), NumberRange(min=1, max=5000)],
    )
    fund = SelectField(_l("Fund"), choices=[], validate_choice=True)
    project = SelectField(_l("Project"), choices=[], validate_choice=True)
    note = TextAreaField(
        _l("Note"),
        description=_l("What was done. Never a child's name, school, address or any phone number."),
        validators=[Optional(), Length(max=1000)],
    )


class VoidForm(FlaskForm):
    reason = StringField(
        _l("Why is this record voided?"),
        validators=[DataRequired(message=_l("Say why this record is voided.")), Length(max=200)],
    )


class ActivityFilterForm(FlaskForm):
    """The list's filter, read from the query string."""

    class Meta:
        csrf = False

    since = DateField(_l("First day"), validators=[Optional()])
    until = DateField(_l("Last day"), validators=[Optional()])
    kind = SelectField(_l("Kind of service"), choices=[], validate_choice=True)
    district = SelectField(_l("District"), choices=[], validate_choice=False)


class PeriodForm(FlaskForm):
    """The public report's period, read from the query string."""

    class Meta:
        csrf = False

    since = StringField(_l("First day"))
    until = StringField(_l("Last day"))
