// workflow: the little the console must know of the tickets' workflow itself.
// WHICH actions a caller may take now is the tickets service's answer
// (`allowed_actions` of GET .../tickets/{tid} and of every action's reply):
// the ticket page shows exactly those and keeps no copy of the flow. What is
// here: what an action asks for besides a click (by its name), and which
// statuses are open or final, for the queue's filters and the SLA cells.

export const FINAL = ["closed", "cancelled", "rejected", "released", "refused"];
export const OPEN = ["new", "accepted", "assigned", "in_progress", "on_hold", "approved"];

/* The actions of `tk` the server allows this caller now; none when it did not say. */
export function allowedActions(tk) {
  return Array.isArray(tk.allowed_actions) ? tk.allowed_actions.filter((a) => typeof a === "string") : [];
}
/* A rejection (of a renovation application) must give its reason. */
export function needsNote(action) { return action === "reject"; }
/* assign names who (empty: whoever is on duty); escalate may hand it on too. */
export function takesAssignee(action) { return action === "assign" || action === "escalate"; }
/* A paid repair is charged to its unit when it is resolved. */
export function takesFee(tk, action) { return action === "resolve" && tk.type === "repair" && !!tk.unit_id; }
