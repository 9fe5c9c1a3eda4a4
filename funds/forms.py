from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core.forms import YuanField
from core.money import MoneyError, parse_yuan
from funds.models import CHANNEL_LABELS, CampaignKind, Channel

KIND_LABELS = {CampaignKind.GENERAL: _l("General"), CampaignKind.COUPLE: _l("Couples (marriage registry)")}


class FundForm(FlaskForm):
    slug = StringField(
        _l("Short name for the address"),
        description=_l("Lowercase letters, digits and hyphens, e.g. xixin-hutong. It cannot be changed later."),
        validators=[DataRequired(), Length(max=60)],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])


class FundEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    active = BooleanField(_l("Open for donations"))


class ProjectForm(FlaskForm):
    slug = StringField(_l("Short name for the address"), validators=[DataRequired(), Length(max=60)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=100)])
    fund = SelectField(_l("Fund"), choices=[])
    goal = YuanField(_l("Goal (yuan)"), validators=[DataRequired(), Length(max=13)])
    beneficiaries = StringField(_l("Beneficiaries (person-times)"), validators=[Optional(), Length(max=9)])
    district = StringField(_l("District"), validators=[Optional(), Length(max=40)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=5000)])

    def validate_beneficiaries(self, field):
        if field.data and not field.data.strip().isdigit():
            raise ValidationError(_l("Give a whole number."))


class PresetsField(StringField):
    """Preset amounts typed in yuan, separated by spaces or commas; kept as fen in .fens."""

    fens: list[int] | None = None

    def pre_validate(self, form):
        self.fens = []
        for part in (self.data or "").replace("，", ",").replace(",", " ").split():
            try:
                self.fens.append(parse_yuan(part))
            except MoneyError:
                raise ValidationError(_l("Give amounts in yuan separated by spaces, like 50 100 200.")) from None


class CampaignForm(FlaskForm):
    slug = StringField(_l("Short name for the address"), validators=[DataRequired(), Length(max=60)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=100)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()])
    fund = SelectField(_l("Fund"), choices=[])
    project = SelectField(_l("Project (optional)"), choices=[], validate_choice=False)
    presets = PresetsField(_l("Preset amounts (yuan)"), validators=[Optional(), Length(max=100)])
    minimum = YuanField(_l("Smallest amount (yuan)"), validators=[Optional(), Length(max=13)])
    maximum = YuanField(_l("Largest amount (yuan)"), validators=[Optional(), Length(max=13)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])


class ImportForm(FlaskForm):
    sheet = FileField(_l("Sheet (CSV or XLSX)"))


class OfflineDonationForm(FlaskForm):
    target = SelectField(_l("For"), choices=[])
    amount = YuanField(_l("Amount (yuan)"), validators=[DataRequired(), Length(max=13)])
    channel = SelectField(
        _l("Channel"),
        choices=[
            SelectChoice(c.value, CHANNEL_LABELS[c]) for c in (Channel.CASH, Channel.BANK_TRANSFER, Channel.CHEQUE)
        ],
    )
    reference = StringField(
        _l("Reference (bank reference, cheque number, event)"), validators=[Optional(), Length(max=120)]
    )
    received_on = DateField(_l("Received on"), validators=[Optional()])
    evidence = FileField(_l("Evidence photo (optional)"))
    name = StringField(_l("Donor's name"), validators=[DataRequired(), Length(max=60)])
    contact = StringField(_l("Donor's mobile or e-mail"), validators=[DataRequired(), Length(max=254)])
    display_name = StringField(_l("Name shown in public (optional)"), validators=[Optional(), Length(max=60)])
    anonymous = BooleanField(_l("Anonymous (shown as 爱心人士)"))


class RefundForm(FlaskForm):
    amount = YuanField(_l("Amount to refund (yuan)"), validators=[DataRequired(), Length(max=13)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])


class DisbursementForm(FlaskForm):
    fund = SelectField(_l("Fund"), choices=[])
    kind = SelectField(_l("For"), choices=[])
    amount = YuanField(_l("Amount (yuan)"), validators=[DataRequired(), Length(max=13)])
    payee = StringField(_l("Paid to"), validators=[DataRequired(), Length(max=120)])
    purpose = TextAreaField(_l("What it pays for"), validators=[DataRequired(), Length(max=2000)])
    project = SelectField(_l("Project (for a grant)"), choices=[], validate_choice=False)
    wish = StringField(_l("Wish number (for a wish's gift)"), validators=[Optional(), Length(max=16)])
    receipt = FileField(_l("Purchase receipt or invoice (photo)"))


class RejectForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])
