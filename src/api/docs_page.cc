#include "api/docs_page.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace warden::api {

extern const std::string_view kDocsCss;  // docs.css, embedded at build time

namespace {

constexpr std::string_view kMethods[] = {"get",     "put",  "post",  "delete",
                                         "options", "head", "patch", "trace"};
constexpr std::string_view kSchemaPrefix = "#/components/schemas/";
constexpr int kMaxNesting = 3;  // inline objects inside properties, shown as nested tables

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Text with `code spans` (the only markup the documents use), escaped.
std::string Inline(std::string_view text) {
  std::string out;
  bool code = false;
  for (size_t tick; (tick = text.find('`')) != std::string_view::npos; code = !code) {
    out += Escape(text.substr(0, tick));
    out += code ? "</code>" : "<code>";
    text.remove_prefix(tick + 1);
  }
  out += Escape(text);
  if (code) {
    out += "</code>";
  }
  return out;
}

// Paragraphs separated by blank lines.
std::string Paragraphs(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    size_t end = text.find("\n\n");
    out += "<p>" + Inline(text.substr(0, end)) + "</p>\n";
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 2);
  }
  return out;
}

const json::object& AsObject(const json::value* value) {
  static const json::object* empty = new json::object;  // never destroyed, like the page
  return value != nullptr && value->is_object() ? value->get_object() : *empty;
}

const json::array& AsArray(const json::value* value) {
  static const json::array* empty = new json::array;
  return value != nullptr && value->is_array() ? value->get_array() : *empty;
}

// The text of a JSON string; "" for anything else.
std::string_view Text(const json::value& value) {
  return value.is_string() ? std::string_view{value.get_string().data(), value.get_string().size()}
                           : std::string_view{};
}

std::string_view Str(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr ? Text(*value) : "";
}

const json::object* Obj(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr ? value->if_object() : nullptr;
}

const json::array* Arr(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr ? value->if_array() : nullptr;
}

// JSON laid out two spaces an indent, for examples.
void Pretty(const json::value& value, int indent, std::string* out) {
  std::string pad(static_cast<size_t>(indent + 2), ' ');
  std::string close(static_cast<size_t>(indent), ' ');
  if (const json::object* object = value.if_object(); object != nullptr && !object->empty()) {
    *out += "{\n";
    size_t i = 0;
    for (const auto& [key, item] : *object) {
      *out += pad + json::serialize(json::string(key)) + ": ";
      Pretty(item, indent + 2, out);
      *out += ++i < object->size() ? ",\n" : "\n";
    }
    *out += close + "}";
  } else if (const json::array* array = value.if_array(); array != nullptr && !array->empty()) {
    *out += "[\n";
    for (size_t j = 0; j < array->size(); ++j) {
      *out += pad;
      Pretty((*array)[j], indent + 2, out);
      *out += j + 1 < array->size() ? ",\n" : "\n";
    }
    *out += close + "]";
  } else {
    *out += json::serialize(value);
  }
}

// An example as a <pre>: text as it is, anything else as JSON.
std::string ExampleBlock(const json::value& example) {
  std::string text;
  if (example.is_string()) {
    text = std::string(example.get_string());
  } else {
    Pretty(example, 0, &text);
  }
  return "<pre>" + Escape(text) + "</pre>\n";
}

std::string Anchor(std::string_view prefix, std::string_view name) {
  std::string out(prefix);
  for (char c : name) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out += plain ? c : '-';
  }
  return out;
}

class Renderer {
 public:
  explicit Renderer(const json::object& document) : doc_(document) {}

  std::string Page() const {
    const json::object* info = Obj(doc_, "info");
    std::string title(info != nullptr ? Str(*info, "title") : "API");
    std::string out = fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>{} API reference</title>\n<style>{}</style>\n</head>\n<body>\n",
        Escape(title), kDocsCss);
    out += Nav();
    out += "<main>\n<h1>" + Escape(title) + " API</h1>\n";
    if (info != nullptr && !Str(*info, "version").empty()) {
      out += fmt::format(
          "<p class=\"note\">Version {} · OpenAPI {} · the document itself: "
          "<a href=\"/openapi.json\">/openapi.json</a></p>\n",
          Escape(Str(*info, "version")), Escape(Str(doc_, "openapi")));
    }
    out += Paragraphs(info != nullptr ? Str(*info, "description") : "");
    out += Authentication();
    for (const Group& group : Groups()) {
      out += fmt::format("<h2 class=\"tag\" id=\"{}\">{}</h2>\n", Anchor("tag-", group.name),
                         Escape(group.name));
      out += Paragraphs(group.description);
      for (const Op& op : group.ops) {
        out += Operation(op);
      }
    }
    out += Schemas();
    out += "</main>\n</body>\n</html>\n";
    return out;
  }

 private:
  struct Op {
    std::string path;
    std::string method;
    const json::object* path_item;
    const json::object* operation;
    std::string anchor;
  };
  struct Group {
    std::string name;
    std::string description;
    std::vector<Op> ops;
  };

  // Operations by tag, in the order of the document's tags; untagged ones last.
  std::vector<Group> Groups() const {
    std::vector<Group> groups;
    if (const json::array* tags = Arr(doc_, "tags"); tags != nullptr) {
      for (const json::value& tag : *tags) {
        if (tag.is_object()) {
          groups.push_back({std::string(Str(tag.get_object(), "name")),
                            std::string(Str(tag.get_object(), "description")),
                            {}});
        }
      }
    }
    for (const auto& [path, item] : AsObject(doc_.if_contains("paths"))) {
      for (std::string_view method : kMethods) {
        const json::object* op = item.is_object() ? Obj(item.get_object(), method) : nullptr;
        if (op == nullptr) {
          continue;
        }
        std::string tag = "other";
        if (const json::array* tags = Arr(*op, "tags"); tags != nullptr && !tags->empty()) {
          tag = (*tags)[0].is_string() ? std::string((*tags)[0].get_string()) : tag;
        }
        std::string id(Str(*op, "operationId"));
        Op entry{std::string(path), std::string(method), &item.get_object(), op,
                 Anchor("op-", id.empty() ? std::string(method) + std::string(path) : id)};
        auto it = std::find_if(groups.begin(), groups.end(),
                               [&](const Group& group) { return group.name == tag; });
        if (it == groups.end()) {
          groups.push_back({tag, "", {}});
          it = groups.end() - 1;
        }
        it->ops.push_back(std::move(entry));
      }
    }
    return groups;
  }

  std::string Nav() const {
    std::string out = "<nav>\n";
    for (const Group& group : Groups()) {
      out += fmt::format("<h2>{}</h2>\n<ul>\n", Escape(group.name));
      for (const Op& op : group.ops) {
        out += fmt::format("<li><a href=\"#{}\"><span class=\"m m-{}\">{}</span> {}</a></li>\n",
                           op.anchor, op.method, Upper(op.method), Escape(op.path));
      }
      out += "</ul>\n";
    }
    if (const json::object* schemas = Schemas(doc_); schemas != nullptr) {
      out += "<h2>Schemas</h2>\n<ul>\n";
      for (const auto& [name, schema] : *schemas) {
        out +=
            fmt::format("<li><a href=\"#{}\">{}</a></li>\n", Anchor("schema-", name), Escape(name));
      }
      out += "</ul>\n";
    }
    return out + "</nav>\n";
  }

  static std::string Upper(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
      c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    return out;
  }

  static const json::object* Schemas(const json::object& doc) {
    const json::object* components = Obj(doc, "components");
    return components != nullptr ? Obj(*components, "schemas") : nullptr;
  }

  // `object`, or what its $ref names (through chains of them); nullptr for a dangling $ref.
  const json::object* Resolve(const json::object& object) const {
    const json::object* current = &object;
    for (int hops = 0; hops < 8 && current != nullptr; ++hops) {
      std::string_view ref = Str(*current, "$ref");
      if (ref.empty()) {
        return current;
      }
      if (!ref.starts_with("#/")) {
        return nullptr;
      }
      const json::object* target = &doc_;
      for (ref.remove_prefix(2); target != nullptr && !ref.empty();) {
        size_t slash = ref.find('/');
        target = Obj(*target, ref.substr(0, slash));
        ref.remove_prefix(slash == std::string_view::npos ? ref.size() : slash + 1);
      }
      current = target;
    }
    return nullptr;
  }

  std::string TypeOf(const json::object& schema) const;
  std::string Constraints(const json::object& schema) const;
  std::string PropertiesTable(const json::object& schema, int depth) const;
  std::string SchemaBody(const json::object& schema, int depth) const;
  std::string Authentication() const;
  std::string Operation(const Op& op) const;
  std::string Parameters(const Op& op) const;
  std::string RequestBody(const json::object& body) const;
  std::string Responses(const json::object& responses) const;
  std::string Schemas() const;

  const json::object& doc_;
};

std::string Renderer::TypeOf(const json::object& schema) const {
  if (std::string_view ref = Str(schema, "$ref"); !ref.empty()) {
    if (ref.starts_with(kSchemaPrefix)) {
      std::string_view name = ref.substr(kSchemaPrefix.size());
      return fmt::format("<a href=\"#{}\">{}</a>", Anchor("schema-", name), Escape(name));
    }
    const json::object* target = Resolve(schema);
    return target != nullptr ? TypeOf(*target) : Escape(ref);
  }
  for (std::string_view key : {"oneOf", "anyOf", "allOf"}) {
    const json::array* parts = Arr(schema, key);
    if (parts == nullptr || parts->empty() || (key != "allOf" && Obj(schema, "properties"))) {
      continue;
    }
    std::string out;
    for (const json::value& part : *parts) {
      std::string type = part.is_object() ? TypeOf(part.get_object()) : "";
      out += out.empty() ? type : (key == "allOf" ? " &amp; " : " | ") + type;
    }
    return out;
  }
  std::string type;
  if (const json::value* t = schema.if_contains("type"); t != nullptr && t->is_string()) {
    type = Escape(t->get_string());
  } else if (t != nullptr && t->is_array()) {
    for (const json::value& one : t->get_array()) {
      type += (type.empty() ? "" : " | ") + Escape(Text(one));
    }
  } else {
    type = schema.contains("properties") ? "object" : "any";
  }
  if (type == "array") {
    const json::object* items = Obj(schema, "items");
    return items != nullptr ? "array of " + TypeOf(*items) : type;
  }
  std::string_view format = Str(schema, "format");
  return format.empty() ? type : fmt::format("{} ({})", type, Escape(format));
}

std::string Renderer::Constraints(const json::object& schema) const {
  std::vector<std::string> notes;
  auto code = [](const json::value& value) {
    // Strings as they are, but "" visibly.
    bool plain = value.is_string() && !value.get_string().empty();
    return "<code>" + Escape(plain ? std::string(value.get_string()) : json::serialize(value)) +
           "</code>";
  };
  if (const json::array* values = Arr(schema, "enum"); values != nullptr) {
    std::string list;
    for (const json::value& value : *values) {
      list += (list.empty() ? "" : ", ") + code(value);
    }
    notes.push_back("one of " + list);
  }
  static constexpr std::pair<std::string_view, std::string_view> kNotes[] = {
      {"default", "default"},       {"minimum", "at least"},    {"maximum", "at most"},
      {"minLength", "min. length"}, {"minItems", "min. items"}, {"pattern", "pattern"},
      {"example", "example"}};
  for (const auto& [key, label] : kNotes) {
    const json::value* value = schema.if_contains(key);
    if (value != nullptr && (key != "example" || !value->is_structured())) {
      notes.push_back(fmt::format("{} {}", label, code(*value)));
    }
  }
  std::string out;
  for (const std::string& note : notes) {
    out += (out.empty() ? "" : " · ") + note;
  }
  return out.empty() ? "" : "<div class=\"c\">" + out + "</div>";
}

std::string Renderer::PropertiesTable(const json::object& schema, int depth) const {
  const json::object* properties = Obj(schema, "properties");
  if (properties == nullptr || properties->empty()) {
    return "";
  }
  std::vector<std::string_view> required;
  if (const json::array* names = Arr(schema, "required"); names != nullptr) {
    for (const json::value& name : *names) {
      required.push_back(Text(name));
    }
  }
  std::string out = "<table>\n<tr><th>field</th><th>type</th><th>description</th></tr>\n";
  for (const auto& [name, value] : *properties) {
    const json::object& property = AsObject(&value);
    bool is_required = std::find(required.begin(), required.end(), name) != required.end();
    out += fmt::format("<tr><td><code>{}</code>{}</td><td>{}</td><td>{}{}", Escape(name),
                       is_required ? "<span class=\"req\">required</span>" : "", TypeOf(property),
                       Inline(Str(property, "description")), Constraints(property));
    if (depth < kMaxNesting && !property.contains("$ref")) {
      const json::object* items = Obj(property, "items");
      out += PropertiesTable(items != nullptr && !items->contains("$ref") ? *items : property,
                             depth + 1);
    }
    out += "</td></tr>\n";
  }
  return out + "</table>\n";
}

std::string Renderer::SchemaBody(const json::object& schema, int depth) const {
  std::string out;
  for (std::string_view key : {"oneOf", "anyOf", "allOf"}) {
    const json::array* parts = Arr(schema, key);
    if (parts == nullptr) {
      continue;
    }
    out += fmt::format("<p>{}:</p>\n<ul>\n", key == "allOf" ? "All of" : "Exactly one of");
    for (const json::value& part : *parts) {
      const json::object& p = AsObject(&part);
      std::string line = p.contains("$ref") || p.contains("type") ? TypeOf(p) : "";
      line += Str(p, "title").empty() ? "" : " <b>" + Escape(Str(p, "title")) + "</b>";
      if (const json::array* required = Arr(p, "required"); required != nullptr) {
        std::string names;
        for (const json::value& name : *required) {
          names += fmt::format("{}<code>{}</code>", names.empty() ? "" : ", ", Escape(Text(name)));
        }
        line += " requires " + names;
      }
      out += "<li>" + line + PropertiesTable(p, depth + 1) + "</li>\n";
    }
    out += "</ul>\n";
  }
  out += PropertiesTable(schema, depth);
  return out;
}

std::string Renderer::Authentication() const {
  const json::object* components = Obj(doc_, "components");
  const json::object* schemes =
      components != nullptr ? Obj(*components, "securitySchemes") : nullptr;
  if (schemes == nullptr || schemes->empty()) {
    return "";
  }
  std::string out = "<h2 id=\"authentication\">Authentication</h2>\n<table>\n";
  for (const auto& [name, value] : *schemes) {
    const json::object& scheme = AsObject(&value);
    std::string how =
        Str(scheme, "type") == "http"
            ? fmt::format("<code>Authorization: {} …</code>", Str(scheme, "scheme") == "bearer"
                                                                  ? std::string("Bearer")
                                                                  : Escape(Str(scheme, "scheme")))
            : fmt::format("<code>{}: …</code> ({})", Escape(Str(scheme, "name")),
                          Escape(Str(scheme, "in")));
    out += fmt::format("<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n", Escape(name),
                       how, Inline(Str(scheme, "description")));
  }
  return out + "</table>\n";
}

std::string Renderer::Operation(const Op& op) const {
  const json::object& o = *op.operation;
  std::string out = fmt::format(
      "<section class=\"op\" id=\"{}\">\n<h3><span class=\"m m-{}\">{}</span> "
      "<code>{}</code></h3>\n"
      "<p class=\"summary\">{}</p>\n{}",
      op.anchor, op.method, Upper(op.method), Escape(op.path), Inline(Str(o, "summary")),
      Paragraphs(Str(o, "description")));
  if (const json::array* security = Arr(o, "security"); security != nullptr && security->empty()) {
    out += "<p class=\"note\">No API key needed.</p>\n";
  }
  out += Parameters(op);
  if (const json::object* body = Obj(o, "requestBody"); body != nullptr) {
    out += RequestBody(*body);
  }
  if (const json::object* responses = Obj(o, "responses"); responses != nullptr) {
    out += Responses(*responses);
  }
  return out + "</section>\n";
}

std::string Renderer::Parameters(const Op& op) const {
  std::string rows;
  for (const json::object* owner : {op.path_item, op.operation}) {
    for (const json::value& value : AsArray(owner->if_contains("parameters"))) {
      const json::object* p = value.is_object() ? Resolve(value.get_object()) : nullptr;
      if (p == nullptr) {
        continue;
      }
      const json::object* schema = Obj(*p, "schema");
      const json::value* required = p->if_contains("required");
      rows += fmt::format(
          "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>\n",
          Escape(Str(*p, "name")),
          required != nullptr && required->is_bool() && required->get_bool()
              ? "<span class=\"req\">required</span>"
              : "",
          Escape(Str(*p, "in")), schema != nullptr ? TypeOf(*schema) : "",
          Inline(Str(*p, "description")), schema != nullptr ? Constraints(*schema) : "");
    }
  }
  if (rows.empty()) {
    return "";
  }
  return "<h4>Parameters</h4>\n<table>\n<tr><th>name</th><th>in</th><th>type</th>"
         "<th>description</th></tr>\n" +
         rows + "</table>\n";
}

std::string Renderer::RequestBody(const json::object& body) const {
  const json::value* required = body.if_contains("required");
  std::string out = fmt::format("<h4>Request body{}</h4>\n{}",
                                required != nullptr && required->is_bool() && required->get_bool()
                                    ? " <span class=\"req\">required</span>"
                                    : "",
                                Paragraphs(Str(body, "description")));
  for (const auto& [type, value] : AsObject(body.if_contains("content"))) {
    const json::object& media = AsObject(&value);
    const json::object* schema = Obj(media, "schema");
    out += fmt::format("<p><code>{}</code>: {}</p>\n", Escape(type),
                       schema != nullptr ? TypeOf(*schema) : "");
    if (schema != nullptr && !schema->contains("$ref")) {
      out += SchemaBody(*schema, 0);
    }
    if (const json::value* example = media.if_contains("example"); example != nullptr) {
      out += "<details open><summary>Example</summary>" + ExampleBlock(*example) + "</details>\n";
    }
  }
  return out;
}

std::string Renderer::Responses(const json::object& responses) const {
  std::string out =
      "<h4>Responses</h4>\n<table>\n<tr><th>status</th><th>description</th><th>body</th></tr>\n";
  std::string examples;
  for (const auto& [status, value] : responses) {
    const json::object* response = value.is_object() ? Resolve(value.get_object()) : nullptr;
    if (response == nullptr) {
      continue;
    }
    // Examples of this operation's own answers; those shared by many ($ref) would only repeat.
    bool show_example = status.starts_with('2') || !value.get_object().contains("$ref");
    std::string body;
    for (const auto& [type, media_value] : AsObject(response->if_contains("content"))) {
      const json::object* media = media_value.if_object();
      const json::object* schema = media != nullptr ? Obj(*media, "schema") : nullptr;
      body += fmt::format("<div><code>{}</code> {}</div>", Escape(type),
                          schema != nullptr ? TypeOf(*schema) : "");
      const json::value* example = media != nullptr ? media->if_contains("example") : nullptr;
      if (example != nullptr && show_example) {
        examples +=
            fmt::format("<details><summary>Example {} <code>{}</code></summary>{}</details>\n",
                        Escape(status), Escape(type), ExampleBlock(*example));
      }
    }
    std::string headers;
    for (const auto& [name, header] : AsObject(response->if_contains("headers"))) {
      const json::object* h = header.is_object() ? Resolve(header.get_object()) : nullptr;
      headers += fmt::format("<div class=\"c\">header <code>{}</code>: {}</div>", Escape(name),
                             h != nullptr ? Inline(Str(*h, "description")) : "");
    }
    out += fmt::format("<tr><td><b>{}</b></td><td>{}{}</td><td>{}</td></tr>\n", Escape(status),
                       Inline(Str(*response, "description")), headers, body);
  }
  return out + "</table>\n" + examples;
}

std::string Renderer::Schemas() const {
  const json::object* schemas = Schemas(doc_);
  if (schemas == nullptr || schemas->empty()) {
    return "";
  }
  std::string out = "<h2 id=\"schemas\">Schemas</h2>\n";
  for (const auto& [name, value] : *schemas) {
    const json::object& schema = AsObject(&value);
    out +=
        fmt::format("<section class=\"schema\" id=\"{}\">\n<h3>{}</h3>\n{}",
                    Anchor("schema-", name), Escape(name), Paragraphs(Str(schema, "description")));
    bool plain = !schema.contains("properties") && !schema.contains("oneOf") &&
                 !schema.contains("anyOf") && !schema.contains("allOf");
    if (plain) {
      out += "<p>" + TypeOf(schema) + "</p>" + Constraints(schema);
    }
    out += SchemaBody(schema, 0);
    if (const json::value* example = schema.if_contains("example");
        example != nullptr && example->is_structured()) {
      out += "<details><summary>Example</summary>" + ExampleBlock(*example) + "</details>\n";
    }
    out += "</section>\n";
  }
  return out;
}

}  // namespace

std::string RenderDocsPage(const json::object& openapi) {
  return Renderer(openapi).Page();
}

}  // namespace warden::api
