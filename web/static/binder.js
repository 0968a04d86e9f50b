// binder.js: fills templ-rendered markup from JSON through data- attributes.
// It only ever sets textContent, attributes and properties: never HTML.
//
//   data-text="A.B"          textContent = value
//   data-attr-NAME="A.B"     setAttribute(NAME, value); removed when null, undefined or false
//   data-prop-NAME="A.B"     element[NAME] = value (value, checked, disabled, selected)
//   data-show="A.B"          hidden unless truthy; also "A.B==VALUE" and "A.B!=VALUE"
//   data-hide="A.B"          the opposite of data-show
//   data-each="A.B"          the element's <template> is cloned and bound once per item
//
// A path "." is the data itself; "Items.length" works as in JS.

export function get(data, path) {
  if (path === "." || path === "") return data;
  let v = data;
  for (const key of path.split(".")) {
    if (v === null || v === undefined) return undefined;
    v = v[key];
  }
  return v;
}

function test(data, expr) {
  const m = /^(.*?)(==|!=)(.*)$/.exec(expr);
  if (!m) {
    const v = get(data, expr.trim());
    return Array.isArray(v) ? v.length > 0 : Boolean(v);
  }
  const equal = String(get(data, m[1].trim()) ?? "") === m[3].trim();
  return m[2] === "==" ? equal : !equal;
}

function bindElement(el, data) {
  for (const attr of Array.from(el.attributes)) {
    const { name, value } = attr;
    if (name === "data-text") {
      const v = get(data, value);
      el.textContent = v === null || v === undefined ? "" : String(v);
    } else if (name.startsWith("data-attr-")) {
      const target = name.slice("data-attr-".length);
      const v = get(data, value);
      if (v === null || v === undefined || v === false) el.removeAttribute(target);
      else el.setAttribute(target, v === true ? "" : String(v));
    } else if (name.startsWith("data-prop-")) {
      el[name.slice("data-prop-".length)] = get(data, value);
    } else if (name === "data-show") {
      el.hidden = !test(data, value);
    } else if (name === "data-hide") {
      el.hidden = test(data, value);
    }
  }
}

// fill renders one copy of container's <template> per item.
export function fill(container, items) {
  const tpl = container.querySelector(":scope > template");
  if (!tpl) throw new Error("binder: data-each needs a <template> child");
  for (const child of Array.from(container.children)) {
    if (child !== tpl) child.remove();
  }
  for (const item of items || []) container.append(render(tpl, item));
}

// bind binds el and its descendants to data.
export function bind(el, data) {
  bindElement(el, data);
  if (el.hasAttribute("data-each")) {
    const items = get(data, el.getAttribute("data-each"));
    fill(el, Array.isArray(items) ? items : []);
    return;
  }
  for (const child of Array.from(el.children)) {
    if (child.tagName !== "TEMPLATE") bind(child, data);
  }
}

// render returns a bound copy of a <template>'s content.
export function render(tpl, data) {
  const frag = tpl.content.cloneNode(true);
  for (const child of Array.from(frag.children)) bind(child, data);
  return frag;
}
