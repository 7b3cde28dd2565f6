/* templates: {{placeholder}} templates per event type and locale; see templates.h.
 *
 * Each type lists the placeholders its templates may use, each with where
 * its value lives in the event's data (a dotted path) and how it is shown:
 * as is, as money (fen -> yuan), as a word of the locale (a ticket's
 * "repair" is 报修 in zh-CN), or as a time, a date or a month people read
 * ("11月27日 14:30", "27 Nov 14:30"; times in the property's zone). The list
 * is the contract of the validator, so that a template saved today renders
 * the same tomorrow. */
#include "templates.h"

#include "civil.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ types */

const char *const nt_event_types[] = {
    "property.created", "unit.created", "unit.updated", "party.created", "party.updated",
    "occupancy.started", "occupancy.ended", "parking.lease.started", "parking.lease.ended",
    "ticket.created", "ticket.assigned", "ticket.resolved", "ticket.closed", "ticket.escalated",
    "ticket.fee_charged", "ticket.feedback", "ticket.renovation_approved",
    "ticket.renovation_accepted", "ticket.sla_warning", "ticket.sla_breached",
    "payment.received", "payment.reversed", "deposit.refunded", "bill.issued", "bill.overdue",
    /* internal to notifications: its reminders job (reminders.c) makes it */
    "activity.reminder",
    /* tickets' patrol timer (issue L): a planned round not started in time */
    "patrol.missed",
    NULL
};
const char *const nt_locales[] = { "zh-CN", "en", NULL };
const char *const nt_template_audiences[] = { "staff", "resident", NULL };

static bool
s_in (const char *const *list, const char *s)
{
    for (int i = 0; s && list[i]; i++)
        if (strcmp (list[i], s) == 0)
            return true;
    return false;
}

bool
nt_event_type_known (const char *type)
{
    return s_in (nt_event_types, type);
}

bool
nt_locale_known (const char *locale)
{
    return s_in (nt_locales, locale);
}

bool
nt_template_audience_known (const char *audience)
{
    return s_in (nt_template_audiences, audience);
}

/* ------------------------------------------------------------------ placeholders */

/* PH_TIME: an RFC 3339 instant, shown as the property's wall time;
 * PH_DATE: a calendar date (YYYY-MM-DD), PH_MONTH: a period (YYYY-MM). */
typedef enum { PH_TEXT, PH_MONEY, PH_LABEL, PH_TIME, PH_DATE, PH_MONTH } ph_kind_t;

typedef struct {
    const char *name;
    const char *path;                /* dotted, in the event's data */
    ph_kind_t kind;
} ph_t;

#define PH_END { NULL, NULL, PH_TEXT }

static const ph_t s_ph_ticket[] = {
    { "number", "number", PH_TEXT },           { "title", "title", PH_TEXT },
    { "type", "type", PH_LABEL },              { "priority", "priority", PH_LABEL },
    { "status", "status", PH_LABEL },          { "unit_code", "unit_code", PH_TEXT },
    { "category", "category", PH_TEXT },       { "channel", "channel", PH_LABEL },
    { "respond_by", "sla.respond_by", PH_TIME }, { "resolve_by", "sla.resolve_by", PH_TIME },
    PH_END
};
static const ph_t s_ph_sla[] = {
    /* deadline and which both name the deadline (respond, resolve); due_at is when */
    { "deadline", "deadline", PH_LABEL }, { "which", "which", PH_LABEL }, { "due_at", "due_at", PH_TIME },
    PH_END
};
static const ph_t s_ph_escalated[] = {
    { "escalated_to", "escalated_to", PH_LABEL }, { "escalated_at", "escalated_at", PH_TIME },
    /* a label: the SLA timer's own reason is a fixed English phrase; staff write theirs */
    { "reason", "reason", PH_LABEL }, PH_END
};
static const ph_t s_ph_resolved[] = { { "fee", "fee.amount", PH_MONEY }, PH_END };
static const ph_t s_ph_feedback[] = { { "rating", "rating", PH_TEXT }, PH_END };
static const ph_t s_ph_reno_approved[] = {
    { "deposit", "deposit", PH_MONEY }, { "management_fee", "management_fee", PH_MONEY }, PH_END
};
static const ph_t s_ph_reno_accepted[] = { { "deposit", "deposit", PH_MONEY }, PH_END };
static const ph_t s_ph_fee_charged[] = {
    { "number", "number", PH_TEXT }, { "amount", "amount", PH_MONEY },
    { "fee_item_code", "fee_item_code", PH_TEXT }, PH_END
};
static const ph_t s_ph_bill[] = {
    { "period", "period", PH_MONTH },           { "amount", "amount", PH_MONEY },
    { "due_date", "due_date", PH_DATE },       { "unit_code", "unit_code", PH_TEXT },
    { "amount_due", "amount_due", PH_MONEY },  { "days_overdue", "days_overdue", PH_TEXT },
    PH_END
};
static const ph_t s_ph_payment[] = {
    { "amount", "amount", PH_MONEY },          { "method", "method", PH_LABEL },
    { "paid_at", "paid_at", PH_TIME },         { "unit_code", "unit_code", PH_TEXT },
    { "external_ref", "external_ref", PH_TEXT }, { "credit", "credit", PH_MONEY },
    { "reason", "reversal.reason", PH_TEXT },  PH_END
};
static const ph_t s_ph_deposit[] = {
    { "amount", "amount", PH_MONEY },          { "refund_amount", "refund.amount", PH_MONEY },
    { "deducted", "refund.deducted", PH_MONEY }, { "reason", "refund.reason", PH_TEXT },
    { "unit_code", "unit_code", PH_TEXT },     PH_END
};
static const ph_t s_ph_occupancy[] = {
    { "unit_code", "unit_code", PH_TEXT },     { "party_name", "party_name", PH_TEXT },
    { "role", "role", PH_LABEL },              { "start_date", "start_date", PH_DATE },
    { "end_date", "end_date", PH_DATE },       { "building", "unit.building", PH_TEXT },
    PH_END
};
static const ph_t s_ph_unit[] = {
    { "code", "code", PH_TEXT },   { "building", "building", PH_TEXT }, { "floor", "floor", PH_TEXT },
    { "use", "use", PH_LABEL },    { "area_m2", "area_m2", PH_TEXT },   PH_END
};
static const ph_t s_ph_party[] = { { "name", "name", PH_TEXT }, { "kind", "kind", PH_LABEL }, PH_END };
static const ph_t s_ph_property[] = {
    { "code", "code", PH_TEXT }, { "name", "name", PH_TEXT }, { "address", "address", PH_TEXT }, PH_END
};
static const ph_t s_ph_parking[] = {
    { "space_code", "space_code", PH_TEXT },   { "zone", "zone", PH_TEXT },
    { "start_date", "start_date", PH_DATE },   { "end_date", "end_date", PH_DATE },
    { "monthly_fee", "monthly_fee", PH_MONEY }, PH_END
};
static const ph_t s_ph_activity[] = {
    { "title", "title", PH_TEXT },             { "place", "place", PH_TEXT },
    { "starts_at", "starts_at", PH_TIME },     { "ends_at", "ends_at", PH_TIME },
    { "unit_code", "unit_code", PH_TEXT },     PH_END
};
static const ph_t s_ph_patrol[] = {
    { "name", "name", PH_TEXT }, { "planned_at", "planned_at", PH_TIME }, PH_END
};
static const ph_t s_ph_none[] = { PH_END };

/* Per type: its placeholders (two groups) and the compiled-in texts. */
typedef struct {
    const char *type;
    const ph_t *ph[2];
    const char *zh_title, *zh_body, *en_title, *en_body;
} tpl_def_t;

static const tpl_def_t s_defs[] = {
    { "property.created", { s_ph_property, s_ph_none },
      "新项目 {{name}}（{{code}}）", "项目 {{name}}（{{code}}）已创建。",
      "New property {{name}} ({{code}})", "Property {{name}} ({{code}}) was created." },
    { "unit.created", { s_ph_unit, s_ph_none },
      "新增房屋 {{code}}", "房屋 {{code}}（{{use}}，{{area_m2}} 平方米）已登记。",
      "New unit {{code}}", "Unit {{code}} ({{use}}, {{area_m2}} m2) was registered." },
    { "unit.updated", { s_ph_unit, s_ph_none },
      "房屋 {{code}} 资料已更新", "房屋 {{code}}（{{use}}，{{area_m2}} 平方米）的资料已更新。",
      "Unit {{code}} updated", "Unit {{code}} ({{use}}, {{area_m2}} m2) was updated." },
    { "party.created", { s_ph_party, s_ph_none },
      "新增业户 {{name}}", "业户 {{name}}（{{kind}}）已登记。",
      "New party {{name}}", "{{name}} ({{kind}}) was registered." },
    { "party.updated", { s_ph_party, s_ph_none },
      "业户 {{name}} 资料已更新", "业户 {{name}}（{{kind}}）的资料已更新。",
      "Party {{name}} updated", "The details of {{name}} ({{kind}}) were updated." },
    { "occupancy.started", { s_ph_occupancy, s_ph_none },
      "{{unit_code}} 入伙：{{party_name}}", "{{party_name}}（{{role}}）于 {{start_date}} 入伙 {{unit_code}}。",
      "Move-in at {{unit_code}}: {{party_name}}",
      "{{party_name}} ({{role}}) moved in to {{unit_code}} on {{start_date}}." },
    { "occupancy.ended", { s_ph_occupancy, s_ph_none },
      "{{unit_code}} 迁出：{{party_name}}", "{{party_name}}（{{role}}）于 {{end_date}} 迁出 {{unit_code}}。",
      "Move-out at {{unit_code}}: {{party_name}}",
      "{{party_name}} ({{role}}) moved out of {{unit_code}} on {{end_date}}." },
    { "parking.lease.started", { s_ph_parking, s_ph_none },
      "车位 {{space_code}} 租赁开始", "车位 {{space_code}}（{{zone}}）自 {{start_date}} 起租，月租 ¥{{monthly_fee}}。",
      "Parking space {{space_code}} leased",
      "Space {{space_code}} ({{zone}}) is leased from {{start_date}} at CNY {{monthly_fee}} a month." },
    { "parking.lease.ended", { s_ph_parking, s_ph_none },
      "车位 {{space_code}} 租赁结束", "车位 {{space_code}}（{{zone}}）的租赁于 {{end_date}} 结束。",
      "Parking lease of {{space_code}} ended", "The lease of space {{space_code}} ({{zone}}) ended on {{end_date}}." },
    { "ticket.created", { s_ph_ticket, s_ph_none },
      "新工单 {{number}}：{{title}}",
      "{{unit_code}} {{type}}工单，优先级：{{priority}}。响应时限 {{respond_by}}，处理时限 {{resolve_by}}。",
      "New ticket {{number}}: {{title}}",
      "A {{type}} ticket ({{priority}}) for {{unit_code}}. Respond by {{respond_by}}, resolve by {{resolve_by}}." },
    { "ticket.assigned", { s_ph_ticket, s_ph_none },
      "工单 {{number}} 已派给您：{{title}}",
      "{{unit_code}} {{type}}工单，优先级：{{priority}}，请于 {{respond_by}} 前响应。",
      "Ticket {{number}} assigned to you: {{title}}",
      "A {{type}} ticket ({{priority}}) for {{unit_code}}. Please respond by {{respond_by}}." },
    { "ticket.resolved", { s_ph_ticket, s_ph_resolved },
      "您的工单 {{number}} 已处理完成", "「{{title}}」已处理完成。如有疑问，请联系物业服务中心。",
      "Your request {{number}} is resolved",
      "\"{{title}}\" has been resolved. If anything is not right, please contact the service centre." },
    { "ticket.closed", { s_ph_ticket, s_ph_none },
      "工单 {{number}} 已关闭", "「{{title}}」已关闭。",
      "Ticket {{number}} closed", "\"{{title}}\" was closed." },
    { "ticket.escalated", { s_ph_ticket, s_ph_escalated },
      "工单 {{number}} 已升级：{{title}}", "{{unit_code}} {{type}}工单已升级。原因：{{reason}}。",
      "Ticket {{number}} escalated: {{title}}",
      "The {{type}} ticket for {{unit_code}} was escalated. Reason: {{reason}}." },
    { "ticket.fee_charged", { s_ph_fee_charged, s_ph_none },
      "工单 {{number}} 收费 ¥{{amount}}", "维修费用 ¥{{amount}} 已计入房屋账户。",
      "Ticket {{number}}: CNY {{amount}} charged", "A repair fee of CNY {{amount}} was charged to the unit's account." },
    { "ticket.feedback", { s_ph_ticket, s_ph_feedback },
      "工单 {{number}} 回访评分：{{rating}}", "「{{title}}」回访评分 {{rating}} 分（满分 5 分）。",
      "Ticket {{number}} rated {{rating}}", "\"{{title}}\" was rated {{rating}} out of 5 at the follow-up call." },
    { "ticket.renovation_approved", { s_ph_ticket, s_ph_reno_approved },
      "装修申请 {{number}} 已批准", "装修押金 ¥{{deposit}}，装修管理费 ¥{{management_fee}}。",
      "Renovation {{number}} approved", "Deposit CNY {{deposit}}, management fee CNY {{management_fee}}." },
    { "ticket.renovation_accepted", { s_ph_ticket, s_ph_reno_accepted },
      "装修 {{number}} 已验收", "装修已验收，押金 ¥{{deposit}} 可办理退还。",
      "Renovation {{number}} accepted", "The renovation passed inspection; the deposit of CNY {{deposit}} can be refunded." },
    { "ticket.sla_warning", { s_ph_ticket, s_ph_sla },
      "工单 {{number}} 即将超时", "「{{title}}」的{{which}}时限为 {{due_at}}，请尽快处理。",
      "Ticket {{number}} is nearly due", "The {{which}} deadline of \"{{title}}\" is {{due_at}}." },
    { "ticket.sla_breached", { s_ph_ticket, s_ph_sla },
      "工单 {{number}} 已超时", "「{{title}}」已超过{{which}}时限 {{due_at}}。",
      "Ticket {{number}} is overdue", "\"{{title}}\" missed its {{which}} deadline of {{due_at}}." },
    { "payment.received", { s_ph_payment, s_ph_none },
      "收款确认：¥{{amount}}", "已收到您的付款 ¥{{amount}}（{{method}}），时间 {{paid_at}}。谢谢！",
      "Payment received: CNY {{amount}}", "We received your payment of CNY {{amount}} ({{method}}) at {{paid_at}}. Thank you!" },
    { "payment.reversed", { s_ph_payment, s_ph_none },
      "付款已撤销：¥{{amount}}", "付款 ¥{{amount}}（{{method}}）已撤销。原因：{{reason}}。",
      "Payment reversed: CNY {{amount}}", "The payment of CNY {{amount}} ({{method}}) was reversed. Reason: {{reason}}." },
    { "deposit.refunded", { s_ph_deposit, s_ph_none },
      "押金已退还：¥{{refund_amount}}", "押金 ¥{{amount}} 已退还 ¥{{refund_amount}}，扣除 ¥{{deducted}}。",
      "Deposit refunded: CNY {{refund_amount}}",
      "CNY {{refund_amount}} of your deposit of CNY {{amount}} was refunded (CNY {{deducted}} deducted)." },
    { "bill.issued", { s_ph_bill, s_ph_none },
      "{{period}}账单：¥{{amount}}", "{{unit_code}} {{period}}账单金额 ¥{{amount}}，请于 {{due_date}} 前缴纳。",
      "Your {{period}} bill: CNY {{amount}}", "The {{period}} bill of {{unit_code}} is CNY {{amount}}, due on {{due_date}}." },
    { "bill.overdue", { s_ph_bill, s_ph_none },
      "账单逾期提醒：¥{{amount_due}}",
      "{{unit_code}} {{period}}账单尚欠 ¥{{amount_due}}，已逾期 {{days_overdue}} 天，请尽快缴纳。",
      "Overdue bill: CNY {{amount_due}}",
      "The {{period}} bill of {{unit_code}} has CNY {{amount_due}} unpaid, {{days_overdue}} days overdue." },
    { "activity.reminder", { s_ph_activity, s_ph_none },
      "活动提醒：{{title}}", "您报名的活动「{{title}}」将于 {{starts_at}} 在{{place}}开始，欢迎准时参加。",
      "Reminder: {{title}}",
      "The activity \"{{title}}\" you signed up for starts at {{starts_at}} at {{place}}. See you there." },
    { "patrol.missed", { s_ph_patrol, s_ph_none },
      "巡查未按时开始：{{name}}", "巡查路线「{{name}}」计划 {{planned_at}} 的巡查 30 分钟内未开始，请跟进。",
      "Patrol not started: {{name}}",
      "The round of patrol route \"{{name}}\" planned for {{planned_at}} was not started within 30 minutes." },
};
#define NDEFS (sizeof s_defs / sizeof s_defs[0])

/* The residents' own texts (audience "resident"), where the staff's would
 * not do: a ticket's requester reads "we have your request", not "new
 * ticket"; "assigned" without who. No staff names or phones: the data's
 * assignee is never a placeholder. Types not here: the staff's text. */
typedef struct {
    const char *type;
    const char *zh_title, *zh_body, *en_title, *en_body;
} tpl_res_t;

static const tpl_res_t s_res_defs[] = {
    { "ticket.created",
      "已受理：您的请求 {{number}}", "我们已收到您的{{type}}请求「{{title}}」，编号 {{number}}。处理进展会及时通知您。",
      "We have your request {{number}}",
      "We have received your {{type}} request \"{{title}}\", number {{number}}. We will keep you posted." },
    { "ticket.assigned",
      "您的请求 {{number}} 已派工", "「{{title}}」已安排工作人员处理，请保持电话畅通。",
      "Your request {{number}} is being handled",
      "Someone from the service centre has been sent to handle \"{{title}}\"." },
    { "ticket.resolved",
      "您的请求 {{number}} 已处理完成", "「{{title}}」已处理完成。如有疑问，请联系物业服务中心。",
      "Your request {{number}} is resolved",
      "\"{{title}}\" has been resolved. If anything is not right, please contact the service centre." },
    { "ticket.closed",
      "您的请求 {{number}} 已关闭", "「{{title}}」已关闭，感谢您的支持。",
      "Your request {{number}} is closed", "\"{{title}}\" is closed. Thank you." },
};

static const tpl_def_t *
s_def (const char *type)
{
    for (size_t i = 0; type && i < NDEFS; i++)
        if (strcmp (s_defs[i].type, type) == 0)
            return &s_defs[i];
    return NULL;
}

int
nt_template_default (const char *type, const char *locale, const char **title, const char **body)
{
    const tpl_def_t *d = s_def (type);
    if (!d || !nt_locale_known (locale))
        return -1;
    bool en = strcmp (locale, "en") == 0;
    *title = en ? d->en_title : d->zh_title;
    *body = en ? d->en_body : d->zh_body;
    return 0;
}

int
nt_template_default_for (const char *type, const char *audience, const char *locale, const char **title,
                         const char **body)
{
    if (!nt_template_audience_known (audience) || nt_template_default (type, locale, title, body))
        return -1;
    if (strcmp (audience, "resident") != 0)
        return 0;
    bool en = strcmp (locale, "en") == 0;
    for (size_t i = 0; i < sizeof s_res_defs / sizeof s_res_defs[0]; i++)
        if (strcmp (s_res_defs[i].type, type) == 0) {
            *title = en ? s_res_defs[i].en_title : s_res_defs[i].zh_title;
            *body = en ? s_res_defs[i].en_body : s_res_defs[i].zh_body;
        }
    return 0;
}

static const ph_t *
s_ph_find (const tpl_def_t *d, const char *name, size_t len)
{
    for (int g = 0; d && g < 2; g++)
        for (const ph_t *p = d->ph[g]; p->name; p++)
            if (strlen (p->name) == len && memcmp (p->name, name, len) == 0)
                return p;
    return NULL;
}

cJSON *
nt_template_placeholders (const char *type)
{
    const tpl_def_t *d = s_def (type);
    if (!d)
        return NULL;
    cJSON *arr = cJSON_CreateArray ();
    for (int g = 0; arr && g < 2; g++)
        for (const ph_t *p = d->ph[g]; p->name; p++)
            cJSON_AddItemToArray (arr, cJSON_CreateString (p->name));
    return arr;
}

/* ------------------------------------------------------------------ words */

/* zh-CN words for coded values; en shows the code with spaces. */
static const struct {
    const char *field, *value, *zh;
} s_words[] = {
    { "type", "repair", "报修" },          { "type", "complaint", "投诉" },
    { "type", "inquiry", "咨询" },         { "type", "suggestion", "建议" },
    { "type", "renovation", "装修" },      { "type", "item_release", "物品放行" },
    { "type", "move_in", "入伙" },         { "type", "move_out", "迁出" },
    { "type", "parking", "车位" },         { "type", "other", "其他" },
    { "priority", "low", "低" },           { "priority", "normal", "普通" },
    { "priority", "high", "高" },          { "priority", "urgent", "紧急" },
    { "status", "new", "新建" },           { "status", "accepted", "已受理" },
    { "status", "assigned", "已派单" },    { "status", "in_progress", "处理中" },
    { "status", "on_hold", "挂起" },       { "status", "resolved", "已解决" },
    { "status", "closed", "已关闭" },      { "status", "cancelled", "已取消" },
    { "status", "approved", "已批准" },    { "status", "rejected", "已驳回" },
    { "status", "released", "已放行" },    { "status", "refused", "已拒绝" },
    { "which", "respond", "响应" },        { "which", "resolve", "处理" },
    { "deadline", "respond", "响应" },     { "deadline", "resolve", "处理" },
    { "method", "cash", "现金" },          { "method", "bank_transfer", "银行转账" },
    { "method", "wechat", "微信支付" },    { "method", "alipay", "支付宝" },
    { "method", "card", "刷卡" },          { "method", "external", "外部系统" },
    { "role", "owner", "业主" },           { "role", "tenant", "租户" },
    { "role", "resident", "住户" },
    { "channel", "phone", "电话" },        { "channel", "walk_in", "到访" },
    { "channel", "app", "App" },           { "channel", "wechat", "微信" },
    { "channel", "email", "邮件" },        { "channel", "hotline", "热线" },
    { "channel", "patrol", "巡查" },
    { "use", "residential", "住宅" },      { "use", "office", "办公" },
    { "use", "retail", "商铺" },           { "use", "hotel", "酒店" },
    { "use", "parking", "车位" },          { "use", "storage", "储藏" },
    { "use", "other", "其他" },
    { "kind", "person", "个人" },          { "kind", "company", "单位" },
    { "escalated_to", "managers", "管理人员" },
    { "reason", "resolution deadline passed", "已超过处理时限" },
};

/* ------------------------------------------------------------------ buffer */

typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf_t;

static void
s_put (sbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc (b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy (b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
s_puts (sbuf_t *b, const char *s)
{
    s_put (b, s, strlen (s));
}

/* ------------------------------------------------------------------ rendering */

void
nt_money_yuan (int64_t fen, char out[32])
{
    /* unsigned magnitude: INT64_MIN has no positive counterpart */
    uint64_t m = fen < 0 ? (uint64_t) 0 - (uint64_t) fen : (uint64_t) fen;
    uint64_t yuan = m / 100, cents = m % 100;
    char digits[24];
    int n = snprintf (digits, sizeof digits, "%llu", (unsigned long long) yuan);
    char *o = out;
    if (fen < 0)
        *o++ = '-';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            *o++ = ',';
        *o++ = digits[i];
    }
    snprintf (o, 32 - (size_t) (o - out), ".%02llu", (unsigned long long) cents);
}

/* ------------------------------------------------------------------ times and dates */

static const char *const s_month_en[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* "YYYY-MM" at s (a real month of years 1000..9999): 0, else -1. */
static int
s_ym (const char *s, int *y, int *m)
{
    /* each part read only when the one before it was there: no reading past a short string's end */
    *y = civil_digits (s, 4);
    *m = *y >= 0 && s[4] == '-' ? civil_digits (s + 5, 2) : -1;
    return *y >= 1000 && *m >= 1 && *m <= 12 ? 0 : -1;
}

/* "YYYY-MM-DD" at s, a day that exists: 0, else -1. */
static int
s_ymd (const char *s, int *y, int *m, int *d)
{
    if (s_ym (s, y, m) || s[7] != '-')
        return -1;
    *d = civil_digits (s + 8, 2);
    return *d >= 1 && *d <= civil_days_in_month (*y, *m) ? 0 : -1;
}

/* "HH:MM" at s with hours up to max_h: 0, else -1. */
static int
s_hm (const char *s, int max_h, int *h, int *mi)
{
    *h = civil_digits (s, 2);
    *mi = *h >= 0 && s[2] == ':' ? civil_digits (s + 3, 2) : -1;
    return *h >= 0 && *h <= max_h && *mi >= 0 && *mi <= 59 ? 0 : -1;
}

bool
nt_time_valid (const char *s)
{
    int64_t us;
    return civil_parse_time (s, &us);
}

int
nt_time_text (const char *local, int this_year, bool en, char out[NT_WHEN_MAX])
{
    int y, m, d, h, mi;
    if (!local || strlen (local) != 16 || s_ymd (local, &y, &m, &d) || local[10] != ' '
        || s_hm (local + 11, 23, &h, &mi))
        return -1;
    if (en && y == this_year)
        snprintf (out, NT_WHEN_MAX, "%d %s %02d:%02d", d, s_month_en[m - 1], h, mi);
    else if (en)
        snprintf (out, NT_WHEN_MAX, "%d %s %d %02d:%02d", d, s_month_en[m - 1], y, h, mi);
    else if (y == this_year)
        snprintf (out, NT_WHEN_MAX, "%d月%d日 %02d:%02d", m, d, h, mi);
    else
        snprintf (out, NT_WHEN_MAX, "%d年%d月%d日 %02d:%02d", y, m, d, h, mi);
    return 0;
}

int
nt_date_text (const char *date, bool en, char out[NT_WHEN_MAX])
{
    int y, m, d;
    if (!date || strlen (date) != 10 || s_ymd (date, &y, &m, &d))
        return -1;
    if (en)
        snprintf (out, NT_WHEN_MAX, "%d %s %d", d, s_month_en[m - 1], y);
    else
        snprintf (out, NT_WHEN_MAX, "%d年%d月%d日", y, m, d);
    return 0;
}

int
nt_month_text (const char *month, bool en, char out[NT_WHEN_MAX])
{
    int y, m;
    if (!month || strlen (month) != 7 || s_ym (month, &y, &m))
        return -1;
    if (en)
        snprintf (out, NT_WHEN_MAX, "%s %d", s_month_en[m - 1], y);
    else
        snprintf (out, NT_WHEN_MAX, "%d年%d月", y, m);
    return 0;
}

/* The value at a dotted path of data, or NULL. */
static const cJSON *
s_path (const cJSON *data, const char *path)
{
    const cJSON *cur = data;
    char key[64];
    while (cur && *path) {
        const char *dot = strchr (path, '.');
        size_t n = dot ? (size_t) (dot - path) : strlen (path);
        if (n >= sizeof key || !cJSON_IsObject (cur))
            return NULL;
        memcpy (key, path, n);
        key[n] = '\0';
        cur = cJSON_GetObjectItemCaseSensitive (cur, key);
        path += n + (dot ? 1 : 0);
    }
    return cur;
}

/* A JSON number that is a whole number a double holds exactly. */
static bool
s_whole (const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber (v))
        return false;
    double d = v->valuedouble;
    if (!(d > -9007199254740992.0 && d < 9007199254740992.0))
        return false;
    int64_t i = (int64_t) d;
    if ((double) i != d)
        return false;
    *out = i;
    return true;
}

/* A time, date or month as people read it; 0, or -1 when v is not one
 * (then shown as written: the value is still better than nothing). */
static int
s_when (char out[NT_WHEN_MAX], const ph_t *ph, const char *v, bool en, const nt_zone_times_t *zt)
{
    if (ph->kind == PH_DATE)
        return nt_date_text (v, en, out);
    if (ph->kind == PH_MONTH)
        return nt_month_text (v, en, out);
    /* PH_TIME: only a wall time the caller worked out in the property's zone */
    const cJSON *local = zt ? cJSON_GetObjectItemCaseSensitive (zt->local, v) : NULL;
    return cJSON_IsString (local) ? nt_time_text (local->valuestring, zt->year, en, out) : -1;
}

static void
s_value (sbuf_t *b, const ph_t *ph, const cJSON *data, bool en, const nt_zone_times_t *zt)
{
    const cJSON *v = s_path (data, ph->path);
    char num[48];
    int64_t i;
    if (ph->kind == PH_MONEY) {
        if (s_whole (v, &i)) {
            nt_money_yuan (i, num);
            s_puts (b, num);
        }
        return;
    }
    if ((ph->kind == PH_TIME || ph->kind == PH_DATE || ph->kind == PH_MONTH) && cJSON_IsString (v)) {
        char when[NT_WHEN_MAX];
        s_puts (b, s_when (when, ph, v->valuestring, en, zt) == 0 ? when : v->valuestring);
        return;
    }
    if (cJSON_IsString (v)) {
        const char *s = v->valuestring;
        if (ph->kind == PH_LABEL) {
            if (!en) {
                for (size_t k = 0; k < sizeof s_words / sizeof s_words[0]; k++)
                    if (strcmp (s_words[k].field, ph->name) == 0 && strcmp (s_words[k].value, s) == 0) {
                        s_puts (b, s_words[k].zh);
                        return;
                    }
            }
            else {
                for (; *s; s++)
                    s_put (b, *s == '_' ? " " : s, 1);
                return;
            }
        }
        s_puts (b, s);
    }
    else if (s_whole (v, &i)) {
        snprintf (num, sizeof num, "%lld", (long long) i);
        s_puts (b, num);
    }
    else if (cJSON_IsNumber (v)) {
        /* area_m2 and the like: at most 2 decimals in the data */
        snprintf (num, sizeof num, "%.2f", v->valuedouble);
        size_t n = strlen (num);
        while (n > 0 && num[n - 1] == '0')
            num[--n] = '\0';
        if (n > 0 && num[n - 1] == '.')
            num[--n] = '\0';
        s_puts (b, num);
    }
    else if (cJSON_IsBool (v))
        s_puts (b, cJSON_IsTrue (v) ? "true" : "false");
    /* null, missing, objects and arrays: nothing */
}

/* The name inside "{{ name }}" (spaces around it allowed). */
static void
s_trim (const char *start, const char *end, const char **name, size_t *len)
{
    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *name = start;
    *len = (size_t) (end - start);
}

cJSON *
nt_template_times (const char *type, const cJSON *data)
{
    const tpl_def_t *d = s_def (type);
    cJSON *arr = cJSON_CreateArray ();
    for (int g = 0; arr && d && g < 2; g++)
        for (const ph_t *p = d->ph[g]; p->name; p++) {
            const char *v = p->kind == PH_TIME ? cJSON_GetStringValue (s_path (data, p->path)) : NULL;
            if (!nt_time_valid (v))
                continue;
            bool seen = false;
            const cJSON *it;
            cJSON_ArrayForEach (it, arr)
                seen = seen || strcmp (it->valuestring, v) == 0;
            if (!seen && !cJSON_AddItemToArray (arr, cJSON_CreateString (v))) {
                cJSON_Delete (arr);
                return NULL;
            }
        }
    return arr;
}

char *
nt_template_render (const char *tpl, const char *type, const cJSON *data, const char *locale,
                    const nt_zone_times_t *zt)
{
    const tpl_def_t *d = s_def (type);
    bool en = locale && strcmp (locale, "en") == 0;
    sbuf_t b = { 0 };
    s_put (&b, "", 0);
    const char *p = tpl ? tpl : "";
    while (*p) {
        const char *open = strstr (p, "{{");
        if (!open) {
            s_puts (&b, p);
            break;
        }
        s_put (&b, p, (size_t) (open - p));
        const char *close = strstr (open + 2, "}}");
        if (!close) {
            s_puts (&b, open);   /* the validator refuses this; show it as written */
            break;
        }
        const char *name;
        size_t len;
        s_trim (open + 2, close, &name, &len);
        const ph_t *ph = s_ph_find (d, name, len);
        if (ph)
            s_value (&b, ph, data, en, zt);
        p = close + 2;
    }
    if (b.oom) {
        free (b.p);
        return NULL;
    }
    return b.p;
}

int
nt_template_validate (const char *tpl, const char *type, char err[NT_TEMPLATE_ERR_MAX])
{
    const tpl_def_t *d = s_def (type);
    err[0] = '\0';
    if (!d) {
        snprintf (err, NT_TEMPLATE_ERR_MAX, "unknown event type");
        return -1;
    }
    const char *p = tpl ? tpl : "";
    while ((p = strstr (p, "{{"))) {
        const char *close = strstr (p + 2, "}}");
        if (!close) {
            snprintf (err, NT_TEMPLATE_ERR_MAX, "unterminated {{ at byte %zu", (size_t) (p - tpl));
            return -1;
        }
        const char *name;
        size_t len;
        s_trim (p + 2, close, &name, &len);
        if (len == 0) {
            snprintf (err, NT_TEMPLATE_ERR_MAX, "empty placeholder {{}} at byte %zu", (size_t) (p - tpl));
            return -1;
        }
        if (len > NT_PLACEHOLDER_MAX || !s_ph_find (d, name, len)) {
            int shown = len > NT_PLACEHOLDER_MAX ? NT_PLACEHOLDER_MAX : (int) len;
            snprintf (err, NT_TEMPLATE_ERR_MAX, "unknown placeholder {{%.*s}}", shown, name);
            return -1;
        }
        p = close + 2;
    }
    return 0;
}

/* ------------------------------------------------------------------ database */

#define ST_TPL_LOOKUP "nt_tpl_lookup"
#define ST_TPL_LIST   "nt_tpl_list"
#define ST_TPL_PUT    "nt_tpl_put"
#define ST_TPL_DELETE "nt_tpl_delete"

static const db_statement_t s_tpl_statements[] = {
    /* a property's row first, then a default row: the first per (audience,
     * locale) wins */
    { ST_TPL_LOOKUP,
      "SELECT audience, locale, title, body FROM templates "
      "WHERE event_type = $2::text AND (property_id = $1::uuid OR property_id IS NULL) "
      "ORDER BY audience, locale, property_id NULLS LAST", true },
    /* $2 audience; default rows first, then the property's: the last per
     * (type, locale) wins */
    { ST_TPL_LIST,
      "SELECT event_type, locale, title, body, property_id IS NOT NULL, " DB_UTC_TS ("updated_at") " "
      "FROM templates WHERE (property_id = $1::uuid OR property_id IS NULL) AND audience = $2::text "
      "ORDER BY property_id NULLS FIRST", true },
    { ST_TPL_PUT,
      "INSERT INTO templates (property_id, event_type, locale, title, body, audience) "
      "VALUES ($1::uuid, $2::text, $3::text, $4::text, $5::text, $6::text) "
      "ON CONFLICT (COALESCE(property_id, '00000000-0000-0000-0000-000000000000'::uuid), event_type, "
      "             audience, locale) "
      "DO UPDATE SET title = EXCLUDED.title, body = EXCLUDED.body, updated_at = now() "
      "RETURNING " DB_UTC_TS ("updated_at"), false },
    { ST_TPL_DELETE,
      "DELETE FROM templates WHERE property_id = $1::uuid AND event_type = $2::text AND locale = $3::text "
      "  AND audience = $4::text",
      false },
};

int
nt_templates_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_tpl_statements);
}

void
nt_template_texts_free (nt_template_texts_t *t)
{
    for (int i = 0; t && i < 2; i++) {
        free (t->title[i]);
        free (t->body[i]);
        free (t->r_title[i]);
        free (t->r_body[i]);
        t->title[i] = t->body[i] = t->r_title[i] = t->r_body[i] = NULL;
    }
}

int
nt_template_lookup (db_t *db, const char *pid, const char *type, nt_template_texts_t *out)
{
    memset (out, 0, sizeof *out);
    const char *params[] = { pid, type };
    PGresult *res = db_exec (db, ST_TPL_LOOKUP, 2, params);
    if (!db_ok (res)) {
        log_warn (NULL, "template lookup failed (%s)", db_sqlstate (res));
        PQclear (res);
        return -1;
    }
    for (int r = 0; r < PQntuples (res); r++) {
        int i = strcmp (PQgetvalue (res, r, 1), "en") == 0 ? 1 : 0;
        bool resident = strcmp (PQgetvalue (res, r, 0), "resident") == 0;
        char **title = resident ? &out->r_title[i] : &out->title[i];
        char **body = resident ? &out->r_body[i] : &out->body[i];
        if (*title)
            continue;
        *title = strdup (PQgetvalue (res, r, 2));
        *body = strdup (PQgetvalue (res, r, 3));
    }
    PQclear (res);
    for (int i = 0; i < 2; i++) {
        const char *t = "", *b = "", *rt = NULL, *rb = NULL;
        if (!out->title[i]) {
            nt_template_default (type, nt_locales[i], &t, &b);   /* unknown type: empty */
            out->title[i] = strdup (t);
            out->body[i] = strdup (b);
        }
        if (!out->r_title[i]) {
            /* the compiled-in resident text when it differs from the staff's,
             * else the staff's effective text (a property's own included) */
            nt_template_default (type, nt_locales[i], &t, &b);
            if (nt_template_default_for (type, "resident", nt_locales[i], &rt, &rb) == 0 && rt != t) {
                out->r_title[i] = strdup (rt);
                out->r_body[i] = strdup (rb);
            }
            else if (out->title[i] && out->body[i]) {
                out->r_title[i] = strdup (out->title[i]);
                out->r_body[i] = strdup (out->body[i]);
            }
        }
        if (!out->title[i] || !out->body[i] || !out->r_title[i] || !out->r_body[i]) {
            nt_template_texts_free (out);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ API */


static cJSON *
s_item (const char *type, const char *audience, const char *locale, const char *title, const char *body,
        bool own, const char *updated_at)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "event_type", type);
    cJSON_AddStringToObject (o, "audience", audience);
    cJSON_AddStringToObject (o, "locale", locale);
    cJSON_AddStringToObject (o, "title", title);
    cJSON_AddStringToObject (o, "body", body);
    cJSON_AddItemToObject (o, "placeholders", nt_template_placeholders (type));
    cJSON_AddStringToObject (o, "source", own ? "property" : "default");
    if (updated_at)
        cJSON_AddStringToObject (o, "updated_at", updated_at);
    else
        cJSON_AddNullToObject (o, "updated_at");
    return o;
}

/* The effective templates of a property for an audience (res: its rows of
 * that audience), each (type, locale) once, in the order of nt_event_types;
 * filtered by type and locale when given. */
static cJSON *
s_effective (PGresult *res, const char *audience, const char *only_type, const char *only_locale)
{
    cJSON *items = cJSON_CreateArray ();
    for (int t = 0; nt_event_types[t]; t++) {
        const char *type = nt_event_types[t];
        if (only_type && strcmp (only_type, type) != 0)
            continue;
        for (int l = 0; nt_locales[l]; l++) {
            const char *locale = nt_locales[l];
            if (only_locale && strcmp (only_locale, locale) != 0)
                continue;
            const char *title = NULL, *body = NULL, *at = NULL;
            bool own = false;
            nt_template_default_for (type, audience, locale, &title, &body);
            for (int r = 0; res && r < PQntuples (res); r++)
                if (strcmp (PQgetvalue (res, r, 0), type) == 0 && strcmp (PQgetvalue (res, r, 1), locale) == 0) {
                    title = PQgetvalue (res, r, 2);
                    body = PQgetvalue (res, r, 3);
                    own = strcmp (PQgetvalue (res, r, 4), "t") == 0;
                    at = PQgetvalue (res, r, 5);
                }
            cJSON_AddItemToArray (items, s_item (type, audience, locale, title, body, own, own ? at : NULL));
        }
    }
    return items;
}

/* ?audience=: staff when absent (what the API answered before residents had
 * texts of their own), else staff or resident; NULL for any other word. */
static const char *
s_audience (const env_request_t *req)
{
    const char *a = env_query (req, "audience");
    if (!a)
        return "staff";
    return nt_template_audience_known (a) ? a : NULL;
}

void
nt_templates_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    const char *type = env_param (req, "event_type"), *locale = env_param (req, "locale");
    const char *audience = s_audience (req);
    jv_t v = JV_INIT;
    if (type && !nt_event_type_known (type))
        jv_problem (&v, "event_type", "is not a known event type");
    if (locale && !nt_locale_known (locale))
        jv_problem (&v, "locale", "must be zh-CN or en");
    if (!audience)
        jv_problem (&v, "audience", "must be staff or resident");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid filter");
        return;
    }
    const char *params[] = { pid, audience };
    PGresult *res = db_exec (app->db, ST_TPL_LIST, 2, params);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        PQclear (res);
        return;
    }
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddItemToObject (body, "items", s_effective (res, audience, type, locale));
    cJSON_AddNullToObject (body, "next_cursor");
    PQclear (res);
    env_reply_ok (rep, 200, body);
}

/* The path's type and locale, known; else 422 and false. 422 (not 404), as
 * for the same unknown type in a rules body or a list filter: the event
 * types and locales are a fixed vocabulary, not resources. */
static bool
s_path_template (const env_request_t *req, env_reply_t *rep, const char **type, const char **locale,
                 const char **audience)
{
    *type = env_param (req, "event_type");
    *locale = env_param (req, "locale");
    *audience = s_audience (req);
    jv_t v = JV_INIT;
    if (!nt_event_type_known (*type))
        jv_problem (&v, "event_type", "is not a known event type");
    if (!nt_locale_known (*locale))
        jv_problem (&v, "locale", "must be zh-CN or en");
    if (!*audience)
        jv_problem (&v, "audience", "must be staff or resident");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "no such template");
        return false;
    }
    return true;
}

/* A template's text: 1..max bytes of UTF-8; line breaks and tabs allowed in
 * a body, no other control characters; every placeholder known. */
static const char *
s_text (jv_t *v, const cJSON *data, const char *field, size_t max, const char *type)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive (data, field);
    if (!it) {
        jv_problem (v, field, "is required");
        return NULL;
    }
    if (!cJSON_IsString (it)) {
        jv_problem (v, field, "must be a string");
        return NULL;
    }
    const char *s = it->valuestring;
    size_t n = strlen (s);
    if (n == 0 || n > max) {
        jv_problem (v, field, "must be 1..%zu bytes", max);
        return NULL;
    }
    if (!jv_is_utf8 (s, n)) {
        jv_problem (v, field, "must be valid UTF-8");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        bool allowed = strcmp (field, "body") == 0 && (c == '\n' || c == '\t' || c == '\r');
        if ((c < 0x20 && !allowed) || c == 0x7f) {
            jv_problem (v, field, "must not contain control characters");
            return NULL;
        }
    }
    char err[NT_TEMPLATE_ERR_MAX];
    if (nt_template_validate (s, type, err)) {
        jv_problem (v, field, "%s", err);
        return NULL;
    }
    return s;
}

/* The property, type and locale of a template the caller may change, or
 * false after answering 404, 403 or 422. */
static bool
s_template_to_change (const env_request_t *req, env_reply_t *rep, const char **pid, const char **type,
                      const char **locale, const char **audience)
{
    *pid = env_property_scope (req, env_roles_managers, rep);
    if (!*pid)
        return false;
    return s_path_template (req, rep, type, locale, audience);
}

void
nt_templates_put (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid, *type, *locale, *audience;
    if (!s_template_to_change (req, rep, &pid, &type, &locale, &audience))
        return;
    jv_t v = JV_INIT;
    const char *title = NULL, *body = NULL;
    if (jv_object (&v, req->data)) {
        title = s_text (&v, req->data, "title", NT_TEMPLATE_TITLE_MAX, type);
        body = s_text (&v, req->data, "body", NT_TEMPLATE_BODY_MAX, type);
    }
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid template");
        return;
    }
    const char *params[] = { pid, type, locale, title, body, audience };
    PGresult *res = db_exec (app->db, ST_TPL_PUT, 6, params);
    if (!db_ok (res) || PQntuples (res) != 1) {
        db_reply_error (res, rep, req->id);
        PQclear (res);
        return;
    }
    env_reply_ok (rep, 200, s_item (type, audience, locale, title, body, true, PQgetvalue (res, 0, 0)));
    PQclear (res);
}

void
nt_templates_delete (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid, *type, *locale, *audience;
    if (!s_template_to_change (req, rep, &pid, &type, &locale, &audience))
        return;
    const char *params[] = { pid, type, locale, audience };
    PGresult *res = db_exec (app->db, ST_TPL_DELETE, 4, params);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        PQclear (res);
        return;
    }
    PQclear (res);
    /* what the property uses now: a default row, or the compiled-in text */
    const char *lp[] = { pid, audience };
    res = db_exec (app->db, ST_TPL_LIST, 2, lp);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        PQclear (res);
        return;
    }
    cJSON *items = s_effective (res, audience, type, locale);
    PQclear (res);
    cJSON *item = cJSON_DetachItemFromArray (items, 0);
    cJSON_Delete (items);
    env_reply_ok (rep, 200, item);
}
