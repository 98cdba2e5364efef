"""Zoho-shaped metadata: fields per module, modules, layouts, pipelines, related lists, org, currencies, users.

Every object carries all keys Zoho's OAS marks as required, so responses validate and the SDK's field cache
gets a realistic size (that size drives the SDK's per-record cost). Built once per process and cached as bytes.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from typing import Any

from . import reference as ref
from .clock import iso

FIELD_BASE = 4_876_876_000_000_500_000
MODULE_IDS = {
    "Leads": 4_876_876_000_000_002_175,
    "Accounts": 4_876_876_000_000_002_177,
    "Contacts": 4_876_876_000_000_002_179,
    "Deals": 4_876_876_000_000_002_181,
    "Campaigns": 4_876_876_000_000_002_183,
    "Stage_History": 4_876_876_000_000_002_185,
}
_META_TIME = "2023-01-10T09:00:00+00:00"
_INDUSTRIES = (
    "ASP (Application Service Provider)", "Data/Telecom OEM", "ERP (Enterprise Resource Planning)", "Government/Military",
    "Large Enterprise", "ManagementISV", "MSP (Management Service Provider)", "Network Equipment Enterprise",
    "Non-management ISV", "Optical Networking", "Service Provider", "Small/Medium Enterprise", "Storage Equipment",
    "Storage Service Provider", "Systems Integrator", "Wireless Industry", "Banking", "Insurance", "Retail",
    "Manufacturing", "Healthcare", "Education", "Logistics", "Energy", "Hospitality", "Real Estate",
)  # fmt: skip
COUNTRIES = tuple(sorted({*ref.COUNTRY_REGION, *ref.UNMAPPED_COUNTRIES, *(
    "Argentina", "Austria", "Bangladesh", "Belgium", "Cambodia", "China", "Colombia", "Czech Republic", "Denmark",
    "Egypt", "Finland", "Greece", "Hong Kong", "Hungary", "Ireland", "Israel", "Italy", "Kuwait", "Laos",
    "Luxembourg", "Myanmar", "Nepal", "New Zealand", "Norway", "Oman", "Pakistan", "Peru", "Poland", "Portugal",
    "Qatar", "Romania", "Saudi Arabia", "South Korea", "Spain", "Sri Lanka", "Sweden", "Switzerland", "Taiwan",
    "Turkey", "Ukraine", "Uruguay",
)}))  # fmt: skip

# (api_name, label, data_type, extra) per module. extra: values / lookup / formula / mandatory / custom.
Spec = tuple[str, str, str, dict[str, Any]]


def _common_tail(currency: bool = True) -> list[Spec]:
    tail: list[Spec] = [
        ("Created_By", "Created By", "ownerlookup", {"read_only": True}),
        ("Modified_By", "Modified By", "ownerlookup", {"read_only": True}),
        ("Created_Time", "Created Time", "datetime", {"read_only": True}),
        ("Modified_Time", "Modified Time", "datetime", {"read_only": True}),
        ("Last_Activity_Time", "Last Activity Time", "datetime", {"read_only": True}),
        ("Locked__s", "Locked", "boolean", {}),
        ("Layout", "Layout", "layout", {}),
    ]
    if currency:
        tail[0:0] = [
            ("Currency", "Currency", "picklist", {"values": tuple(ref.CURRENCIES)}),
            ("Exchange_Rate", "Exchange Rate", "double", {}),
        ]
    return tail


DEALS_SPEC: list[Spec] = [
    ("Owner", "Deal Owner", "ownerlookup", {}),
    ("Deal_Name", "Deal Name", "text", {"mandatory": True}),
    ("Account_Name", "Account Name", "lookup", {"lookup": "Accounts"}),
    ("Contact_Name", "Contact Name", "lookup", {"lookup": "Contacts"}),
    ("Campaign_Source", "Campaign Source", "lookup", {"lookup": "Campaigns"}),
    ("Amount", "Amount", "currency", {}),
    ("Currency", "Currency", "picklist", {"values": tuple(ref.CURRENCIES)}),
    ("Exchange_Rate", "Exchange Rate", "double", {}),
    ("Closing_Date", "Closing Date", "date", {"mandatory": True}),
    ("Stage", "Stage", "picklist", {"stage": True, "mandatory": True}),
    ("Pipeline", "Pipeline", "picklist", {"values": tuple(ref.PIPELINES), "mandatory": True}),
    ("Probability", "Probability (%)", "integer", {}),
    ("Expected_Revenue", "Expected Revenue", "currency", {"read_only": True}),
    # Zoho's system field: set to the stage's category on every stage change, overridable on open deals.
    ("Forecast_Category__s", "Forecast Category", "picklist", {"values": tuple(ref.FORECAST_CATEGORY_IDS)}),
    ("Type", "Type", "picklist", {"values": ref.DEAL_TYPES}),
    ("Lead_Source", "Lead Source", "picklist", {"values": ref.LEAD_SOURCES}),
    ("Next_Step", "Next Step", "text", {}),
    ("Description", "Description", "textarea", {}),
    ("Created_By", "Created By", "ownerlookup", {"read_only": True}),
    ("Modified_By", "Modified By", "ownerlookup", {"read_only": True}),
    ("Created_Time", "Created Time", "datetime", {"read_only": True}),
    ("Modified_Time", "Modified Time", "datetime", {"read_only": True}),
    ("Last_Activity_Time", "Last Activity Time", "datetime", {"read_only": True}),
    ("Reason_For_Loss__s", "Reason For Loss", "picklist", {"values": ref.LOSS_REASONS}),
    ("Sales_Cycle_Duration", "Sales Cycle Duration", "integer", {"read_only": True}),
    ("Overall_Sales_Duration", "Overall Sales Duration", "integer", {"read_only": True}),
    ("Lead_Conversion_Time", "Lead Conversion Time", "integer", {"read_only": True}),
    ("Region", "Region", "picklist", {"values": tuple(ref.REGIONS), "custom": True}),
    ("Country", "Country", "picklist", {"values": COUNTRIES, "custom": True}),
    ("Solution_Type", "Solution Type", "picklist", {"values": ref.SOLUTION_TYPES, "custom": True}),
    ("Product_Line", "Product Line", "picklist", {"values": ref.PRODUCT_LINES, "custom": True}),
    ("Deal_Age_Days", "Deal Age (Days)", "formula", {"formula": "double", "custom": True}),
    ("Contract_Term_Months", "Contract Term (Months)", "integer", {"custom": True}),
    ("Renewal", "Renewal", "boolean", {"custom": True}),
    ("Partner_Name", "Partner Name", "text", {"custom": True}),
    ("Competitor", "Competitor", "text", {"custom": True}),
    ("Locked__s", "Locked", "boolean", {}),
    ("Layout", "Layout", "layout", {}),
]
_ADDRESS = ("Street", "City", "State", "Code", "Country")
ACCOUNTS_SPEC: list[Spec] = [
    ("Owner", "Account Owner", "ownerlookup", {}),
    ("Account_Name", "Account Name", "text", {"mandatory": True}),
    ("Account_Number", "Account Number", "text", {}),
    ("Account_Site", "Account Site", "text", {}),
    ("Parent_Account", "Parent Account", "lookup", {"lookup": "Accounts"}),
    ("Account_Type", "Account Type", "picklist", {"values": ("Analyst", "Competitor", "Customer", "Distributor",
                                                              "Integrator", "Investor", "Partner", "Press",
                                                              "Prospect", "Reseller", "Supplier", "Vendor")}),
    ("Industry", "Industry", "picklist", {"values": _INDUSTRIES}),
    ("Annual_Revenue", "Annual Revenue", "currency", {}),
    ("Employees", "Employees", "integer", {}),
    ("Ownership", "Ownership", "picklist", {"values": ("Other", "Private", "Public", "Subsidiary", "Partnership",
                                                       "Government", "Privately Held", "Public Company")}),
    ("Rating", "Rating", "picklist", {"values": ("Acquired", "Active", "Market Failed", "Project Cancelled",
                                                 "Shut Down")}),
    ("Phone", "Phone", "phone", {}),
    ("Fax", "Fax", "phone", {}),
    ("Website", "Website", "website", {}),
    ("Ticker_Symbol", "Ticker Symbol", "text", {}),
    ("SIC_Code", "SIC Code", "integer", {}),
    *((f"Billing_{p}", f"Billing {p}", "text", {}) for p in _ADDRESS),
    *((f"Shipping_{p}", f"Shipping {p}", "text", {}) for p in _ADDRESS),
    ("Description", "Description", "textarea", {}),
    ("Region", "Region", "picklist", {"values": tuple(ref.REGIONS), "custom": True}),
    ("Country", "Country", "picklist", {"values": COUNTRIES, "custom": True}),
    ("Customer_Tier", "Customer Tier", "picklist", {"values": ("Strategic", "Key", "Growth", "Standard"),
                                                    "custom": True}),
    *_common_tail(),
]  # fmt: skip
CONTACTS_SPEC: list[Spec] = [
    ("Owner", "Contact Owner", "ownerlookup", {}),
    ("Salutation", "Salutation", "picklist", {"values": ("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.")}),
    ("First_Name", "First Name", "text", {}),
    ("Last_Name", "Last Name", "text", {"mandatory": True}),
    ("Full_Name", "Full Name", "text", {"read_only": True}),
    ("Account_Name", "Account Name", "lookup", {"lookup": "Accounts"}),
    ("Reporting_To", "Reporting To", "lookup", {"lookup": "Contacts"}),
    ("Email", "Email", "email", {}),
    ("Secondary_Email", "Secondary Email", "email", {}),
    ("Phone", "Phone", "phone", {}),
    ("Mobile", "Mobile", "phone", {}),
    ("Home_Phone", "Home Phone", "phone", {}),
    ("Other_Phone", "Other Phone", "phone", {}),
    ("Fax", "Fax", "phone", {}),
    ("Assistant", "Assistant", "text", {}),
    ("Asst_Phone", "Asst Phone", "phone", {}),
    ("Title", "Title", "text", {}),
    ("Department", "Department", "text", {}),
    ("Lead_Source", "Lead Source", "picklist", {"values": ref.LEAD_SOURCES}),
    ("Date_of_Birth", "Date of Birth", "date", {}),
    ("Email_Opt_Out", "Email Opt Out", "boolean", {}),
    ("Skype_ID", "Skype ID", "text", {}),
    ("Twitter", "Twitter", "text", {}),
    *((f"Mailing_{p}", f"Mailing {p}", "text", {}) for p in ("Street", "City", "State", "Zip", "Country")),
    *((f"Other_{p}", f"Other {p}", "text", {}) for p in ("Street", "City", "State", "Zip", "Country")),
    ("Description", "Description", "textarea", {}),
    *_common_tail(currency=False),
]
CAMPAIGNS_SPEC: list[Spec] = [
    ("Owner", "Campaign Owner", "ownerlookup", {}),
    ("Campaign_Name", "Campaign Name", "text", {"mandatory": True}),
    ("Type", "Type", "picklist", {"values": ("Conference", "Webinar", "Trade Show", "Public Relations", "Partners",
                                             "Referral Program", "Advertisement", "Banner Ads", "Direct mail",
                                             "Email", "Telemarketing", "Others")}),
    ("Status", "Status", "picklist", {"values": ("Planning", "Active", "Inactive", "Complete")}),
    ("Start_Date", "Start Date", "date", {}),
    ("End_Date", "End Date", "date", {}),
    ("Expected_Revenue", "Expected Revenue", "currency", {}),
    ("Budgeted_Cost", "Budgeted Cost", "currency", {}),
    ("Actual_Cost", "Actual Cost", "currency", {}),
    ("Expected_Response", "Expected Response", "integer", {}),
    ("Num_sent", "Num sent", "integer", {}),
    ("Parent_Campaign", "Parent Campaign", "lookup", {"lookup": "Campaigns"}),
    ("Description", "Description", "textarea", {}),
    *_common_tail(),
]  # fmt: skip
STAGE_HISTORY_SPEC: list[Spec] = [
    ("Stage", "Stage", "picklist", {"stage": True}),
    ("Amount", "Amount", "currency", {}),
    ("Probability", "Probability (%)", "integer", {}),
    ("Expected_Revenue", "Expected Revenue", "currency", {}),
    ("Closing_Date", "Closing Date", "date", {}),
    ("Modified_Time", "Modified Time", "datetime", {"read_only": True}),
    ("Modified_By", "Modified By", "ownerlookup", {"read_only": True}),
    ("Stage_Duration_Calendar_Days", "Stage Duration (Calendar Days)", "integer", {"read_only": True}),
]
MODULE_SPECS: dict[str, list[Spec]] = {
    "Deals": DEALS_SPEC,
    "Accounts": ACCOUNTS_SPEC,
    "Contacts": CONTACTS_SPEC,
    "Campaigns": CAMPAIGNS_SPEC,
    "Stage_History": STAGE_HISTORY_SPEC,
}
_JSON_TYPES = {
    "text": "string", "textarea": "string", "email": "string", "phone": "string", "website": "string",
    "picklist": "string", "date": "string", "datetime": "string", "integer": "integer", "bigint": "string",
    "double": "double", "currency": "double", "boolean": "boolean", "lookup": "jsonobject",
    "ownerlookup": "jsonobject", "formula": "double", "layout": "jsonobject",
}  # fmt: skip


def _minified_module(api_name: str | None) -> dict[str, Any]:
    return {"api_name": api_name, "id": str(MODULE_IDS[api_name]) if api_name else None}


def _pick_value(i: int, value: str, field_id: int) -> dict[str, Any]:
    return {
        "display_value": value,
        "sequence_number": i + 1,
        "reference_value": value,
        "colour_code": None,
        "actual_value": value,
        "id": str(field_id * 100 + i + 1)[-19:],
        "type": "used",
    }


def _stage_values(field_id: int) -> list[dict[str, Any]]:
    out = []
    for i, stage in enumerate(ref.STAGES):
        value = _pick_value(i, stage.name, field_id)
        value.update(
            probability=stage.probability,
            forecast_type=stage.forecast_type,
            forecast_category={
                "name": stage.forecast_category,
                "id": str(ref.PIPELINE_BASE + 900 + ref.FORECAST_CATEGORY_IDS[stage.forecast_category]),
            },
        )
        out.append(value)
    return out


def field_id(module: str, api_name: str) -> str | None:
    for seq, spec in enumerate(MODULE_SPECS.get(module, [])):
        if spec[0] == api_name:
            return str(FIELD_BASE + list(MODULE_SPECS).index(module) * 1000 + seq)
    return None


def build_field(module: str, seq: int, spec: Spec) -> dict[str, Any]:
    api_name, label, data_type, extra = spec
    field_id = FIELD_BASE + list(MODULE_SPECS).index(module) * 1000 + seq
    custom = bool(extra.get("custom"))
    read_only = bool(extra.get("read_only"))
    values: list[dict[str, Any]] = []
    if extra.get("stage"):
        values = _stage_values(field_id)
    elif "values" in extra:
        values = [_pick_value(i, v, field_id) for i, v in enumerate(("-None-", *extra["values"]))]
    lookup = None
    if "lookup" in extra:
        target = extra["lookup"]
        lookup = {
            "display_label": target,
            "api_name": None,
            "module": _minified_module(target),
            "id": None,
            "query_details": {},
            "revalidate_filter_during_edit": False,
            "show_fields": [],
        }
    formula = (
        {"return_type": extra["formula"], "expression": "Datecomp(Now(),${Deals.Created Time})/1440"}
        if ("formula" in extra)
        else None
    )
    return {
        "associated_module": {"api_name": None, "id": None},
        "webhook": True,
        "operation_type": {"web_update": not read_only, "api_create": not read_only, "web_create": not read_only,
                           "api_update": not read_only},
        "colour_code_enabled_by_system": False,
        "field_label": label,
        "tooltip": {"name": "", "value": ""},
        "created_source": "default" if not custom else "crm",
        "field_read_only": read_only,
        "display_label": label,
        "read_only": read_only,
        "association_details": {"related_field": {"api_name": None, "id": None},
                                "lookup_field": {"api_name": None, "id": None}},
        "businesscard_supported": True,
        "multi_module_lookup": None,
        "currency": {"rounding_option": "normal", "precision": 2} if data_type == "currency" else None,
        "id": str(field_id),
        "custom_field": custom,
        "lookup": lookup,
        "filterable": True,
        "visible": True,
        "profiles": [{"permission_type": "read_write", "name": "Administrator", "id": str(ref.PROFILE_ID)}],
        "view_type": {"view": True, "edit": not read_only, "quick_create": False, "create": not read_only},
        "separator": False,
        "searchable": data_type in ("text", "email", "phone", "picklist"),
        "external": {"show": False, "type": None},
        "api_name": api_name,
        "unique": None,
        "enable_colour_code": False,
        "pick_list_values": values,
        "system_mandatory": bool(extra.get("mandatory")),
        "virtual_field": False,
        "json_type": _JSON_TYPES.get(data_type, "string"),
        "crypt": {"mode": None, "status": None},
        "created_time": _META_TIME if custom else None,
        "modified_time": _META_TIME if custom else None,
        "column_name": api_name.upper(),
        "history_tracking": {"module": {}, "duration_configured_field": {"api_name": None, "id": None}},
        "data_type": data_type,
        "formula": formula,
        "decimal_place": 2 if data_type in ("currency", "double") else None,
        "mass_update": not read_only,
        "multiselectlookup": None,
        "multiuserlookup": {"display_label": None, "linking_module": {"api_name": None, "id": None},
                            "connected_module": {"api_name": None, "id": None}, "lookup_apiname": None,
                            "api_name": None, "connectedfield_apiname": None, "connectedlookup_apiname": None,
                            "id": None, "record_access": None},
        "auto_number": None,
        "autonumber": {"starting_number_length": 0, "prefix": None, "suffix": None, "start_number": None},
        "length": 255 if data_type in ("text", "picklist") else 32000 if data_type == "textarea" else 16,
        "ui_type": 1,
        "display_type": 1,
        "quick_sequence_number": str(seq + 1),
        "email_parser": {"fields_update_supported": False, "record_operations_supported": False},
        "rollup_summary": None,
        "refer_from_field": {"id": None, "api_name": None},
        "show_type": 7,
        "category": 0,
        "sharing_properties": {},
        "file_upolad_optionlist": [],
        "sub_module": {"api_name": None, "id": None},
        "subform": None,
        "convert_mapping": {},
        "allowed_modules": [],
        "additional_column": None,
        "common.picklist": None,
        "hipaa_compliance_enabled": False,
        "hipaa_compliance": {"restricted_in_export": False, "restricted": False},
        "_update_existing_records": False,
        "number_separator": False,
        "textarea": {"type": "large"} if data_type == "textarea" else {},
        "static_field": False,
        "blueprint_supported": api_name == "Stage",
        "customizable_properties": [],
        "available_in_user_layout": True,
        "display_field": api_name in ("Deal_Name", "Account_Name", "Last_Name", "Campaign_Name"),
        "pick_list_values_sorted_lexically": False,
        "sortable": True,
        "layout_associations": [{"api_name": "Standard", "name": "Standard", "id": str(ref.LAYOUT_ID)}],
        "type": "used",
    }  # fmt: skip


def module_fields(module: str) -> list[dict[str, Any]] | None:
    spec = MODULE_SPECS.get(module)
    if spec is None:
        return None
    return [build_field(module, i, s) for i, s in enumerate(spec)]


@cache
def fields_body(module: str) -> bytes | None:
    fields = module_fields(module)
    return None if fields is None else json.dumps({"fields": fields}, ensure_ascii=False).encode()


def _admin_minified() -> dict[str, str]:
    return {"name": ref.ADMIN_USER.full_name, "id": str(ref.ADMIN_USER.id)}


def _admin_owner() -> dict[str, str]:
    user = ref.ADMIN_USER
    return {"name": user.full_name, "id": str(user.id), "first_name": user.first_name, "last_name": user.last_name}


def _custom_view(module: str) -> dict[str, Any]:
    admin = _admin_minified()
    return {
        "display_value": f"All {module.replace('_', ' ')}", "system_name": "ALLVIEWS", "category": "public_views",
        "created_time": None, "modified_time": None, "last_accessed_time": None, "name": f"All {module}",
        "created_by": admin, "modified_by": admin, "module": {"name": module, "id": str(MODULE_IDS[module])},
        "criteria": {"comparator": None, "field": {"api_name": None, "id": None}, "value": None,
                     "group_operator": None, "group": []},
        "default": True, "system_defined": True, "locked": None, "favorite": None, "offline": False,
        "access_type": "shared", "shared_to": [], "fields": [],
        "sort_by": {"id": str(FIELD_BASE), "api_name": "Created_Time"}, "sort_order": None,
        "id": str(MODULE_IDS[module] + 50),
    }  # fmt: skip


def module_record(api_name: str, seq: int) -> dict[str, Any]:
    singular = {"Stage_History": "Stage History"}.get(api_name, api_name[:-1] if api_name.endswith("s") else api_name)
    plural = api_name.replace("_", " ")
    return {
        "common.search_supported": True, "deletable": api_name != "Stage_History", "description": None,
        "creatable": api_name != "Stage_History", "recycle_bin_on_delete": True,
        "inventory_template_supported": False, "modified_time": _META_TIME, "plural_label": plural,
        "presence_sub_menu": True, "triggers_supported": True, "id": str(MODULE_IDS[api_name]),
        "chart_view": False, "isBlueprintSupported": api_name == "Deals", "visibility": 1, "visible": True,
        "convertable": False, "editable": True, "emailTemplate_support": True, "email_parser_supported": False,
        "filter_supported": True, "show_as_tab": api_name != "Stage_History", "web_link": None,
        "sequence_number": seq, "singular_label": singular, "viewable": True, "api_supported": True,
        "api_name": api_name, "quick_create": True, "generated_type": "default", "feeds_required": False,
        "scoring_supported": True, "webform_supported": True, "arguments": [], "module_name": api_name,
        "chart_view_supported": True, "profile_count": 1, "business_card_field_limit": 5,
        "track_current_data": True, "modified_by": _admin_minified(),
        "profiles": [{"name": "Administrator", "id": str(ref.PROFILE_ID)}], "parent_module": None,
        "activity_badge": None, "$field_states": [], "business_card_fields": [], "per_page": None,
        "$properties": [], "$on_demand_properties": [], "search_layout_fields": [],
        "kanban_view_supported": True, "lookup_field_properties": {"fields": []}, "kanban_view": False,
        "related_lists": [], "filter_status": True,
        "related_list_properties": {"sort_by": {"api_name": None, "id": None}, "fields": [], "sort_order": None},
        "display_field": None, "layouts": [], "fields": [],
        "custom_view": _custom_view(api_name), "zia_view": False, "default_mapping_fields": [], "layout_associations": [],
    }  # fmt: skip


@lru_cache(maxsize=1)
def modules_body() -> bytes:
    modules = [module_record(name, i + 1) for i, name in enumerate(MODULE_IDS) if name in MODULE_SPECS]
    return json.dumps({"modules": modules}).encode()


def _layout_field(field: dict[str, Any], section_id: int, seq: int) -> dict[str, Any]:
    return {
        **field,
        "required": field["system_mandatory"],
        "validation_rule": None,
        "default_value": None,
        "sequence_number": seq,
        "section_id": section_id,
        "static_values": [],
        "_delete": {"permanent": False},
    }


@cache
def layouts_body(module: str) -> bytes | None:
    fields = module_fields(module)
    if fields is None:
        return None
    section_id = ref.LAYOUT_ID + 10
    section = {
        "display_label": f"{module} Information", "sequence_number": 1, "isSubformSection": False,
        "tab_traversal": "1", "api_name": f"{module}_Information", "column_count": 2,
        "name": f"{module} Information", "generated_type": "default", "id": str(section_id), "type": "used",
        "fields": [_layout_field(f, section_id, i + 1) for i, f in enumerate(fields)],
        "properties": {"reorder_rows": None, "maximum_rows": None, "tooltip": {"name": "Info Icon", "value": ""}}, "_delete": {"permanent": False},
    }  # fmt: skip
    layout = {
        "has_more_profiles": False, "created_time": _META_TIME, "modified_time": _META_TIME, "visible": True,
        "source": "crm", "id": str(ref.LAYOUT_ID), "name": "Standard", "display_label": "Standard",
        "mode": "standard", "subform_properties": {"pinned_column": None}, "status": "active",
        "show_business_card": True, "generated_type": "default", "created_for": _admin_minified(),
        "convert_mapping": {"Contacts": {"name": None, "id": None}, "Deals": {"fields": [], "name": None, "id": None},
                            "Accounts": {"name": None, "id": None}, "Invoices": {"name": None, "id": None},
                            "SalesOrders": {"name": None, "id": None}},
        "modified_by": _admin_minified(),
        "profiles": [{"default": True, "name": "Administrator", "id": str(ref.PROFILE_ID),
                      "_default_view": {"name": "Standard", "id": str(ref.LAYOUT_ID), "type": "layout"}}],
        "created_by": _admin_minified(), "sections": [section],
        "actions_allowed": {"edit": True, "rename": True, "clone": True, "downgrade": False, "delete": False,
                            "deactivate": False, "set_layout_permissions": True},
    }  # fmt: skip
    return json.dumps({"layouts": [layout]}, ensure_ascii=False).encode()


@lru_cache(maxsize=1)
def pipeline_body() -> bytes:
    pipelines = []
    for p_idx, (name, (stages, _)) in enumerate(ref.PIPELINES.items()):
        maps = []
        for seq, stage_name in enumerate(stages):
            stage = ref.STAGES_BY_NAME[stage_name]
            maps.append(
                {
                    "display_value": stage.name,
                    "sequence_number": seq + 1,
                    "forecast_category": {
                        "name": stage.forecast_category,
                        "id": str(ref.PIPELINE_BASE + 900 + ref.FORECAST_CATEGORY_IDS[stage.forecast_category]),
                    },
                    "actual_value": stage.name,
                    "id": str(FIELD_BASE + 9 * 100 + ref.STAGES.index(stage) + 1),
                    "forecast_type": stage.forecast_type,
                    "colour_code": "#FFFFFF",
                    "type": "used",
                }
            )
        pipelines.append(
            {
                "display_value": name,
                "default": p_idx == 0,
                "maps": maps,
                "actual_value": name,
                "id": str(ref.PIPELINE_BASE + p_idx + 1),
            }
        )
    return json.dumps({"pipeline": pipelines}).encode()


@lru_cache(maxsize=1)
def related_lists_body() -> bytes:
    related = [
        {
            "id": str(MODULE_IDS["Stage_History"] + 1000),
            "sequence_number": "1",
            "display_label": "Stage History",
            "api_name": "Stage_History",
            "module": {"api_name": "Stage_History", "id": str(MODULE_IDS["Stage_History"])},
            "name": "Stage History",
            "action": None,
            "href": "Deals/{ENTITYID}/Stage_History",
            "type": "default",
            "visible": True,
            "customize_sort": False,
            "customize_fields": False,
            "customize_display_label": False,
            "sort_by": {"api_name": None, "id": None},
            "sort_order": None,
            "fields": [],
            "status": "visible",
        }
    ]
    return json.dumps({"related_lists": related}).encode()


def org_body(base_url: str) -> bytes:
    org = {
        "country": "Singapore", "photo_id": None, "city": "Singapore", "description": None, "mc_status": False,
        "gapps_enabled": False, "translation_enabled": False, "street": "1 Raffles Place", "domain_name": "org900000001",
        "alias": "Pipeline Pulse Demo", "currency": ref.CURRENCIES[ref.HOME_CURRENCY][0], "id": str(ref.ORG_ID),
        "state": None, "fax": None, "zip": "048616", "currency_symbol": "SGD", "mobile": None,
        "currency_locale": "en_SG", "primary_zuid": str(ref.ADMIN_USER.id), "zia_portal_id": None,
        "time_zone": "Asia/Singapore", "zgid": ref.ZGID, "country_code": "SG", "deletable_org_account": False,
        "license_details": {"paid_expiry": "2026-12-31T00:00:00+00:00", "users_license_purchased": len(ref.USERS),
                            "trial_type": None, "trial_expiry": None, "paid": True, "paid_type": "enterprise",
                            "trial_action": ""},
        "hierarchy_preferences": {"type": "Role_Hierarchy", "strictly_reporting": False},
        "phone": "+65 6000 0000", "company_name": "Pipeline Pulse Demo Pte Ltd", "privacy_settings": False,
        "primary_email": ref.ADMIN_USER.email, "iso_code": ref.HOME_CURRENCY, "hipaa_compliance_enabled": False,
        "lite_users_enabled": False, "max_per_page": 200, "ezgid": "z" + ref.ZGID,
        "call_icon": "", "oauth_presence": True, "zia_zgid": ref.ORG_ID,
        "checkin_preferences": {"restricted_event_types": None}, "website": base_url,
    }  # fmt: skip
    return json.dumps({"org": [org]}).encode()


@lru_cache(maxsize=1)
def currencies_body() -> bytes:
    currencies = []
    for i, (iso_code, (name, symbol, rate)) in enumerate(ref.CURRENCIES.items()):
        currencies.append(
            {
                "iso_code": iso_code,
                "symbol": symbol,
                "created_time": _META_TIME,
                "is_active": True,
                "exchange_rate": f"{rate:.9f}",
                "format": {"decimal_separator": "Period", "thousand_separator": "Comma", "decimal_places": "2"},
                "created_by": _admin_minified(),
                "prefix_symbol": True,
                "is_base": iso_code == ref.HOME_CURRENCY,
                "modified_time": _META_TIME,
                "name": name,
                "modified_by": _admin_minified(),
                "id": str(ref.CURRENCY_BASE + i + 1),
            }
        )
    return json.dumps({"currencies": currencies}, ensure_ascii=False).encode()


def user_record(user: ref.User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "full_name": user.full_name,
        "name": user.full_name,
        "email": user.email,
        "status": "active",
        "confirm": True,
        "role": {"name": "CEO" if user is ref.ADMIN_USER else "Sales Rep", "id": str(ref.ROLE_ID)},
        "profile": {"name": "Administrator", "id": str(ref.PROFILE_ID)},
        "country": user.country,
        "locale": "en_GB",
        "language": "en_US",
        "time_format": "HH:mm",
        "date_format": "MMM d, yyyy",
        "Region": user.region,
        "created_time": _META_TIME,
        "Modified_Time": _META_TIME,
        "created_by": _admin_owner(),
        "Modified_By": _admin_owner(),
        "zuid": str(user.id - ref.USER_BASE + 60_000_000),
        "zip": None,
    }


def users_page(kind: str, page: int, per_page: int) -> tuple[list[dict[str, Any]], bool]:
    users = [ref.ADMIN_USER] if kind == "CurrentUser" else list(ref.USERS)
    start = (page - 1) * per_page
    chunk = users[start : start + per_page]
    return [user_record(u) for u in chunk], start + per_page < len(users)


def now_iso(epoch: float) -> str:
    return iso(epoch)
