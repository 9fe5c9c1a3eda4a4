from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from core.forms import YuanField


class StripeRunForm(FlaskForm):
    since = DateField(_l("First day"), validators=[Optional()])
    until = DateField(_l("Last day"), validators=[Optional()])


class ResolveForm(FlaskForm):
    note = StringField(_l("How it was resolved"), validators=[DataRequired(), Length(max=1000)])


class StatementForm(FlaskForm):
    statement = FileField(_l("Bank statement (CSV or XLSX)"))


class IgnoreForm(FlaskForm):
    note = StringField(_l("Why it is not ours"), validators=[DataRequired(), Length(max=1000)])


class StripeReportForm(FlaskForm):
    report = FileField(_l("Stripe's itemised balance change report (CSV)"))


class CorrectionForm(FlaskForm):
    fund = SelectField(_l("Fund"), coerce=int)
    asset = SelectField(_l("Account to correct"))
    direction = RadioField(
        _l("The correction"),
        choices=[
            SelectChoice("in", _l("adds the amount to that account")),
            SelectChoice("out", _l("takes the amount out of that account")),
        ],
        validators=[DataRequired()],
    )
    amount = YuanField(_l("Amount (yuan)"), validators=[DataRequired()])
    counter = SelectField(_l("Other side of the journal"))
    note = StringField(_l("Why (kept with the journal)"), validators=[DataRequired(), Length(max=1000)])


class LinkForm(FlaskForm):
    donation = HiddenField(validators=[DataRequired()])
    note = StringField(_l("Why this donation"), validators=[DataRequired(), Length(max=1000)])
