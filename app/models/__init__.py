"""Every model, imported here so that Alembic and create_all see the whole schema."""

from app.models.activity import Activity, Via
from app.models.assets import Asset, AssetStatus, Assignment, Condition, DeviceModel
from app.models.audits import Audit, AuditItem, AuditOutcome, AuditStatus
from app.models.imports import ImportKind, ImportRun, ImportState
from app.models.jobs import Job, JobStatus
from app.models.kits import (
    AccessoryKind,
    AccessoryOutcome,
    AccessoryTracking,
    Agreement,
    AgreementAck,
    Collection,
    Deployment,
    IssuedAccessory,
)
from app.models.labels import LabelFormat, LabelPrint, LabelPrintItem
from app.models.loans import Loan
from app.models.locations import Campus, Room, RoomKind
from app.models.observations import Observation, ObservationSource
from app.models.people import Guardian, GuardianLink, Person, PersonCampus, PersonKind, RecordView
from app.models.repairs import (
    ClaimStatus,
    Fee,
    FeeReason,
    FeeStatus,
    LoanerSwap,
    Part,
    PartStock,
    Priority,
    ShippingBatch,
    StockAdjustment,
    StockReason,
    TicketLabour,
    TicketPart,
    TicketRepair,
    Vendor,
    WarrantyClaim,
)
from app.models.reports import ReportRefusal
from app.models.sync import SyncEvent, SyncStatus, UnknownScan
from app.models.tickets import (
    Ticket,
    TicketCategory,
    TicketComment,
    TicketEvent,
    TicketEventKind,
    TicketPhoto,
    TicketSource,
    TicketStatus,
)
from app.models.types import utcnow
from app.models.users import ApiToken, Role, User

__all__ = [
    "AccessoryKind",
    "AccessoryOutcome",
    "AccessoryTracking",
    "Agreement",
    "AgreementAck",
    "Collection",
    "Deployment",
    "IssuedAccessory",
    "Activity",
    "ApiToken",
    "Asset",
    "AssetStatus",
    "Assignment",
    "Audit",
    "AuditItem",
    "AuditOutcome",
    "AuditStatus",
    "Campus",
    "Condition",
    "DeviceModel",
    "ImportKind",
    "ImportRun",
    "ImportState",
    "Job",
    "JobStatus",
    "Loan",
    "LabelFormat",
    "LabelPrint",
    "LabelPrintItem",
    "Observation",
    "ObservationSource",
    "Guardian",
    "GuardianLink",
    "Person",
    "PersonCampus",
    "PersonKind",
    "RecordView",
    "ClaimStatus",
    "Fee",
    "FeeReason",
    "FeeStatus",
    "LoanerSwap",
    "Part",
    "PartStock",
    "Priority",
    "ShippingBatch",
    "StockAdjustment",
    "StockReason",
    "TicketLabour",
    "TicketPart",
    "TicketRepair",
    "ReportRefusal",
    "Vendor",
    "WarrantyClaim",
    "Role",
    "Room",
    "RoomKind",
    "SyncEvent",
    "SyncStatus",
    "Ticket",
    "TicketCategory",
    "TicketComment",
    "TicketEvent",
    "TicketEventKind",
    "TicketPhoto",
    "TicketSource",
    "TicketStatus",
    "UnknownScan",
    "User",
    "Via",
    "utcnow",
]
